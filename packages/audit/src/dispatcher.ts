import { once } from 'node:events';
import {
  appendFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  renameSync,
  unlinkSync,
} from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HealthCheck } from '@mcp-harden/core';
import type { AuditEvent, AuditSink, SinkStats } from './types.js';

/** Tuning of a {@link SinkChannel}; every field is validated by `audit()`. */
export interface ChannelOptions {
  spillDir: string;
  maxQueue: number;
  batchSize: number;
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  replayIntervalMs: number;
  onError: (error: unknown) => void;
}

/**
 * Marks a sink whose `write` commits a whole batch at once (one write and one fsync), so the
 * bigger the batch the cheaper each event: its channel hands it everything queued, up to
 * {@link GROUP_COMMIT_BATCH} events (or `batchSize` when larger), instead of `batchSize` at a time.
 * While one batch is being written and synced, the next one collects. Internal: not exported.
 */
export const GROUP_COMMIT: unique symbol = Symbol('mcp-harden.audit.groupCommit');

/**
 * Most events a group-commit sink takes per `write` (under 1 MB of file records). A batch is encoded
 * and hashed in one synchronous stretch, about 5 µs per event: 1,024 keeps that under ~7 ms when the
 * sink has fallen far behind (4,096 blocked the event loop for ~23 ms), and still syncs once per
 * thousand events.
 */
export const GROUP_COMMIT_BATCH = 1024;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Delivers events to one sink: a bounded in-memory queue drained in batches by a single worker,
 * retries with exponential back-off, and a JSON-lines spill file that takes every event the
 * sink cannot take right now. Spilled events are replayed when the sink is back; a spill file
 * left by an earlier process is replayed on start. Nothing is dropped unless the local disk fails.
 */
export class SinkChannel {
  readonly #sink: AuditSink;
  readonly #options: ChannelOptions;
  readonly #spillPath: string;
  readonly #replayPath: string;
  readonly #rejectedPath: string;
  /** Most events per `write`. */
  readonly #maxBatch: number;
  #queue: AuditEvent[] = [];
  #running: Promise<void> | undefined;
  #degraded = false;
  #replayDue = false;
  #hasSpill = false;
  #closed = false;
  #closing = false;
  #scheduled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  // Spilled lines not yet handed to the file, and the one writer appending them in order.
  #spillText = '';
  #spillCount = 0;
  #spillWriting: Promise<void> | undefined;
  readonly #stats: Omit<SinkStats, 'queued' | 'degraded'>;

  constructor(sink: AuditSink, options: ChannelOptions) {
    this.#sink = sink;
    this.#options = options;
    mkdirSync(options.spillDir, { recursive: true, mode: 0o700 });
    this.#spillPath = join(options.spillDir, `${sink.name}.spill.jsonl`);
    this.#replayPath = join(options.spillDir, `${sink.name}.replay.jsonl`);
    this.#rejectedPath = join(options.spillDir, `${sink.name}.rejected.jsonl`);
    this.#maxBatch =
      (sink as { [GROUP_COMMIT]?: unknown })[GROUP_COMMIT] === true
        ? Math.max(options.batchSize, GROUP_COMMIT_BATCH)
        : options.batchSize;
    this.#stats = { sink: sink.name, delivered: 0, spilled: 0, replayed: 0, lastError: undefined };
    if (existsSync(this.#spillPath) || existsSync(this.#replayPath)) {
      // Left by an earlier process: replay it as soon as the sink takes writes.
      this.#hasSpill = true;
      this.#degraded = true;
      this.#replayDue = true;
      queueMicrotask(() => this.#kick());
    }
  }

  get name(): string {
    return this.#sink.name;
  }

  /** Takes one event; never throws and never waits. */
  enqueue(event: AuditEvent): void {
    if (this.#closed || this.#queue.length >= this.#options.maxQueue) {
      this.#spill([event]);
      if (!this.#closed) this.#kick();
      return;
    }
    this.#queue.push(event);
    this.#kick();
  }

  stats(): SinkStats {
    return { ...this.#stats, queued: this.#queue.length, degraded: this.#degraded };
  }

  /** Readiness of this sink: fails while it is down and events are spilling. */
  healthCheck(): HealthCheck {
    return {
      name: `audit:${this.#sink.name}`,
      check: async (signal: AbortSignal) => {
        if (this.#degraded) {
          throw new Error(`audit sink ${this.#sink.name} is down: ${this.#stats.lastError ?? 'spilling'}`);
        }
        await this.#sink.check?.(signal);
      },
    };
  }

  /** Delivers everything queued, tries to replay the spill file once, and resolves when done. */
  async flush(): Promise<void> {
    if (this.#hasSpill) this.#replayDue = true;
    this.#start();
    while (this.#running || this.#spillWriting) {
      while (this.#running) await this.#running;
      while (this.#spillWriting) await this.#spillWriting;
    }
  }

  /** Final flush, then closes the sink. Later events go straight to the spill file. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
    this.#closed = true;
    // Anything that raced in before the flag was set is spilled, never lost.
    if (this.#queue.length > 0) this.#spill(this.#queue.splice(0));
    while (this.#spillWriting) await this.#spillWriting;
    await this.#sink.close?.();
  }

  /** Starts the worker on the next turn, so the caller only pushed to an array and events batch up. */
  #kick(): void {
    if (this.#running || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#start();
    });
  }

  #start(): void {
    if (this.#running) return;
    this.#running = this.#run()
      .catch((err: unknown) => this.#options.onError(err))
      .finally(() => {
        this.#running = undefined;
      });
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#degraded) {
        if (this.#queue.length > 0) {
          this.#spill(this.#queue.splice(0));
          continue;
        }
        if (!this.#replayDue) return;
        this.#replayDue = false;
        if (await this.#replay()) this.#degraded = false;
        else this.#scheduleReplay();
        continue;
      }
      if (this.#queue.length > 0) {
        let batch: AuditEvent[];
        if (this.#queue.length <= this.#maxBatch) {
          batch = this.#queue;
          this.#queue = [];
        } else {
          batch = this.#queue.splice(0, this.#maxBatch);
        }
        if (!(await this.#deliver(batch))) {
          this.#spill(batch);
          this.#degraded = true;
          this.#scheduleReplay();
        }
        continue;
      }
      if (this.#hasSpill) {
        // Overflow spilled while the sink was healthy.
        if (!(await this.#replay())) {
          this.#degraded = true;
          this.#scheduleReplay();
        }
        continue;
      }
      return;
    }
  }

  #scheduleReplay(): void {
    if (this.#closing || this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#replayDue = true;
      this.#kick();
    }, this.#options.replayIntervalMs);
    this.#timer.unref?.();
  }

  async #deliver(batch: readonly AuditEvent[]): Promise<boolean> {
    const { attempts, baseDelayMs, maxDelayMs } = this.#options;
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        await this.#sink.write(batch);
        this.#stats.delivered += batch.length;
        return true;
      } catch (err) {
        this.#stats.lastError = messageOf(err);
        if (attempt + 1 < attempts) await sleep(Math.min(baseDelayMs * 2 ** attempt, maxDelayMs));
      }
    }
    this.#options.onError(
      new Error(`audit sink ${this.#sink.name}: delivery failed, spilling: ${this.#stats.lastError}`),
    );
    return false;
  }

  /**
   * Appends events to the spill file without blocking the event loop: lines are buffered and a
   * single writer appends them in order. Replay waits for the writer before it renames the file;
   * close waits for it too, and after close lines are appended synchronously.
   */
  #spill(events: readonly AuditEvent[]): void {
    if (events.length === 0) return;
    let text = '';
    try {
      for (const event of events) text += `${JSON.stringify(event)}\n`;
    } catch (err) {
      this.#options.onError(
        new Error(
          `audit sink ${this.#sink.name}: could not spill ${events.length} events: ${messageOf(err)}`,
        ),
      );
      return;
    }
    if (this.#closed && this.#spillWriting === undefined) {
      // After close nobody waits for a write (the process may be exiting): append now. While
      // earlier lines are still being written, queue behind them instead, to keep the order.
      try {
        appendFileSync(this.#spillPath, text, { mode: 0o600 });
        this.#stats.spilled += events.length;
        this.#hasSpill = true;
      } catch (err) {
        this.#options.onError(
          new Error(
            `audit sink ${this.#sink.name}: could not spill ${events.length} events: ${messageOf(err)}`,
          ),
        );
      }
      return;
    }
    this.#spillText += text;
    this.#spillCount += events.length;
    this.#stats.spilled += events.length;
    this.#hasSpill = true;
    this.#spillWriting ??= this.#writeSpill();
  }

  async #writeSpill(): Promise<void> {
    // Never settle synchronously: #spillWriting is assigned this promise before it may be cleared.
    await undefined;
    try {
      while (this.#spillText !== '') {
        const text = this.#spillText;
        const count = this.#spillCount;
        this.#spillText = '';
        this.#spillCount = 0;
        try {
          await appendFile(this.#spillPath, text, { mode: 0o600 });
        } catch (err) {
          this.#stats.spilled -= count;
          this.#options.onError(
            new Error(`audit sink ${this.#sink.name}: could not spill ${count} events: ${messageOf(err)}`),
          );
        }
      }
    } finally {
      this.#spillWriting = undefined;
    }
  }

  /** Replays the spill file; true when it is gone, false when the sink failed again. */
  async #replay(): Promise<boolean> {
    for (;;) {
      // No append may be in flight while the spill file is checked and renamed (the check and
      // the rename below run in the same synchronous stretch), or a line could land in the
      // replay file after it was read.
      while (this.#spillWriting) await this.#spillWriting;
      if (!existsSync(this.#replayPath)) {
        if (!existsSync(this.#spillPath)) {
          this.#hasSpill = false;
          return true;
        }
        renameSync(this.#spillPath, this.#replayPath);
      }
      // Streamed in batches, so a spill file from a long outage never has to fit in memory.
      const batchSize = this.#maxBatch;
      let done = 0; // lines fully handled (delivered or set aside)
      let batch: AuditEvent[] = [];
      let batchLines = 0;
      let failed = false;
      const lines = createInterface({
        input: createReadStream(this.#replayPath, 'utf8'),
        crlfDelay: Infinity,
      });
      for await (const line of lines) {
        batchLines++;
        if (line.trim() === '') continue;
        try {
          batch.push(JSON.parse(line) as AuditEvent);
        } catch {
          // A torn line from a crash cannot be delivered; keep it for a human, never drop it.
          appendFileSync(this.#rejectedPath, `${line}\n`, { mode: 0o600 });
          this.#options.onError(
            new Error(
              `audit sink ${this.#sink.name}: an unreadable spill line was kept in ${this.#rejectedPath}`,
            ),
          );
        }
        if (batch.length < batchSize) continue;
        if (!(await this.#deliver(batch))) {
          failed = true;
          break;
        }
        this.#stats.replayed += batch.length;
        done += batchLines;
        batch = [];
        batchLines = 0;
      }
      lines.close();
      if (!failed && batch.length > 0) {
        if (await this.#deliver(batch)) this.#stats.replayed += batch.length;
        else failed = true;
      }
      if (failed) {
        if (done > 0) await this.#dropLines(done);
        return false;
      }
      unlinkSync(this.#replayPath);
    }
  }

  /** Rewrites the replay file without its first `count` lines (already delivered). */
  async #dropLines(count: number): Promise<void> {
    const tmp = `${this.#replayPath}.tmp`;
    const out = createWriteStream(tmp, { mode: 0o600 });
    let n = 0;
    const lines = createInterface({ input: createReadStream(this.#replayPath, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (++n <= count) continue;
      if (!out.write(`${line}\n`)) await once(out, 'drain');
    }
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    renameSync(tmp, this.#replayPath);
  }
}
