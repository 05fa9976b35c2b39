import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { eventCanonicalJson, sha256HexOf } from './canonical.js';
import { chainFiles, GENESIS_HASH } from './chain.js';
import { GROUP_COMMIT } from './dispatcher.js';
import type { AuditEvent, AuditSink } from './types.js';

/**
 * Options of {@link fileSink}.
 *
 * @example
 * ```ts
 * fileSink({ path: './audit/audit.log', rotate: { maxBytes: 10_000_000 }, fsync: true });
 * ```
 */
export interface FileSinkOptions {
  /** The active log file. Rotated files are `<path>.1`, `<path>.2`, ... (oldest first). */
  path: string;
  /** Rotate when the active file would grow beyond `maxBytes`; the chain continues in the new file. */
  rotate?: { maxBytes: number };
  /** `fdatasync` after every batch so a written event survives a crash of the machine. Default `true`. */
  fsync?: boolean;
  /** Sink name (spill file name). Default `file`. */
  name?: string;
}

/**
 * The hash-chained file sink.
 *
 * @example
 * ```ts
 * const sink: FileSink = fileSink({ path: './audit.log' });
 * const anchor = await sink.head(); // store it elsewhere to detect truncation later
 * ```
 */
export interface FileSink extends AuditSink {
  /** Hash of the last record written, for anchoring the chain elsewhere (`verifyChain`'s `expectedHead`). */
  head(): Promise<string>;
}

const HASH = /^[0-9a-f]{64}$/;

/** Largest buffer allocated up front for a batch (more only when its records need it). */
const MAX_FIRST_BUFFER = 8 * 1024 * 1024;

/** Bytes of a record besides its event's: two hashes, the hash-input prefix, keys, newline. */
const RECORD_OVERHEAD = 256;

/** Bytes of `,"prevHash":"<64 hex>","v":1}`, the end of a record's hash input. */
const INPUT_TAIL_BYTES = 85;

function hashOfLine(line: string): string | undefined {
  try {
    const record = JSON.parse(line) as { hash?: unknown };
    return typeof record.hash === 'string' && HASH.test(record.hash) ? record.hash : undefined;
  } catch {
    return undefined;
  }
}

/** Last valid record hash of `file` and whether the file ends mid-line; undefined when missing/empty. */
async function tailOf(file: string): Promise<{ hash: string | undefined; torn: boolean } | undefined> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return undefined;
  }
  if (size === 0) return undefined;
  const fh = await open(file, 'r');
  try {
    // Read backwards until the last complete line is in the buffer.
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    const torn = last[0] !== 0x0a;
    let acc = Buffer.alloc(0);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - 64 * 1024);
      const chunk = Buffer.alloc(end - start);
      await fh.read(chunk, 0, chunk.length, start);
      acc = Buffer.concat([chunk, acc]);
      end = start;
      let stop = acc.length;
      while (stop > 0 && acc[stop - 1] === 0x0a) stop--;
      if (stop === 0) continue;
      const cut = acc.lastIndexOf(0x0a, stop - 1);
      if (cut < 0 && start > 0) continue;
      const hash = hashOfLine(acc.subarray(cut + 1, stop).toString('utf8'));
      if (hash !== undefined) return { hash, torn };
      break;
    }
  } finally {
    await fh.close();
  }
  // The last line is damaged (torn write): chain from the last readable record.
  let last: string | undefined;
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) last = hashOfLine(line) ?? last;
  return { hash: last, torn: true };
}

/**
 * Append-only JSON-lines file where every record carries the previous record's hash and its own
 * (`ChainRecord`), so an edited, deleted or reordered record is detected by {@link verifyChain}.
 * Rotation by size keeps the chain: the first record of a new file links to the last of the
 * previous one. One process writes one chain.
 *
 * @example
 * ```ts
 * import { audit, fileSink } from '@mcp-harden/audit';
 * const trail = audit({
 *   sinks: [fileSink({ path: './audit/audit.log', rotate: { maxBytes: 10_000_000 } })],
 *   spillDir: './audit/spill',
 * });
 * ```
 */
export function fileSink(options: FileSinkOptions): FileSink {
  if (!options || typeof options.path !== 'string' || options.path === '') {
    throw new TypeError('fileSink: path is required');
  }
  const maxBytes = options.rotate?.maxBytes;
  if (
    options.rotate !== undefined &&
    (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 1)
  ) {
    throw new TypeError('fileSink: rotate.maxBytes must be a positive integer');
  }
  const path = options.path;
  const fsync = options.fsync ?? true;
  let fh: FileHandle | undefined;
  let size = 0;
  let lastHash: string | undefined;
  let needsNewline = false;
  // Ids written by a batch that then failed part-way (after a rotation), so its retry does not
  // write them twice.
  let partial = new Set<string>();

  const recover = async () => {
    const files = chainFiles(path);
    lastHash = GENESIS_HASH;
    needsNewline = false;
    for (let i = files.length - 1; i >= 0; i--) {
      const tail = await tailOf(files[i]!);
      if (tail?.hash === undefined) continue;
      lastHash = tail.hash;
      needsNewline = files[i] === path && tail.torn;
      break;
    }
  };

  const openActive = async () => {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    fh = await open(path, 'a', 0o600);
    size = (await fh.stat()).size;
  };

  const rotateNow = async () => {
    await fh?.close();
    fh = undefined;
    const rotated = chainFiles(path).filter((f) => f !== path);
    const next = rotated.length === 0 ? 1 : Number(rotated[rotated.length - 1]!.slice(path.length + 1)) + 1;
    await rename(path, `${path}.${next}`);
    needsNewline = false;
    await openActive();
  };

  // Bytes per record seen so far, to size a batch's buffer at once (it grows if a record is longer).
  let lineEstimate = 1024;

  /** One write (all of `bytes`, however many calls the OS needs) and one fdatasync for a group of records. */
  const append = async (bytes: Buffer, hash: string) => {
    for (let done = 0; done < bytes.length; ) {
      const { bytesWritten } = await fh!.write(bytes, done, bytes.length - done);
      if (bytesWritten <= 0) throw new Error(`fileSink: could not write to ${path}`);
      done += bytesWritten;
    }
    if (fsync) await fh!.datasync();
    size += bytes.length;
    lastHash = hash;
    needsNewline = false;
  };

  const sink: FileSink = {
    name: options.name ?? 'file',
    async write(events: readonly AuditEvent[]) {
      try {
        if (lastHash === undefined) await recover();
        if (!fh) await openActive();
        // The whole batch is encoded once into one buffer, record after record, and written with
        // one call: no batch-sized string is built (flattening one costs more than the records).
        let out = Buffer.allocUnsafe(
          Math.min(Math.max(4096, events.length * lineEstimate), MAX_FIRST_BUFFER),
        );
        let start = 0; // start of the bytes not yet written (moves past what a rotation wrote)
        let end = 0;
        if (needsNewline) out[end++] = 0x0a;
        let pending = 0; // records in the bytes not yet written
        let first = 0; // index in `events` of the first of them
        let hash = lastHash!;
        for (let i = 0; i < events.length; i++) {
          const event = events[i]!;
          if (partial.size > 0 && partial.has(event.id)) continue;
          const prevHash = hash;
          // The event is serialized once, encoded once, and its bytes serve both the hash and the
          // line. Both are exactly what chainHash / canonicalJson produce: keys sorted (event, hash,
          // prevHash, v), and the hashes are lower-case hex, so JSON-quoting them is plain quoting.
          const eventJson = eventCanonicalJson(event);
          // UTF-8 takes at most 3 bytes per UTF-16 code unit, so the record always fits whole.
          const room = eventJson.length * 3 + RECORD_OVERHEAD;
          if (out.length - end < room) {
            const grown = Buffer.allocUnsafe(Math.max(out.length * 2, end - start + room));
            out.copy(grown, 0, start, end);
            end -= start;
            start = 0;
            out = grown;
          }
          // First the hash input, `prevHash{"event":…,"prevHash":"…","v":1}`, then turned in place
          // into the line, `{"event":…,"hash":"…","prevHash":"…","v":1}\n`.
          const inputEnd =
            end + out.write(`${prevHash}{"event":${eventJson},"prevHash":"${prevHash}","v":1}`, end, 'utf8');
          hash = sha256HexOf(out.subarray(end, inputEnd));
          const eventEnd = inputEnd - INPUT_TAIL_BYTES;
          out.copyWithin(end, end + 64, eventEnd); // `{"event":…` over prevHash
          const tailStart = eventEnd - 64;
          const tail = `,"hash":"${hash}","prevHash":"${prevHash}","v":1}\n`;
          const bytes = tailStart + out.write(tail, tailStart, 'latin1') - end;
          if (maxBytes !== undefined && size + (end - start) + bytes > maxBytes && size + (end - start) > 0) {
            // The records before this one fill the active file; this one starts the next file.
            if (pending > 0) {
              await append(out.subarray(start, end), prevHash);
              // Written: if a later part of this batch fails, its retry must not write them again.
              for (let k = first; k < i; k++) partial.add(events[k]!.id);
            }
            pending = 0;
            first = i;
            await rotateNow();
            start = end;
          }
          end += bytes;
          pending++;
        }
        if (pending > 0) {
          await append(out.subarray(start, end), hash);
          lineEstimate = Math.ceil((end - start) / pending) + 64;
        }
        partial = new Set();
      } catch (err) {
        // We do not know what reached the disk: re-read the tail before the next write.
        lastHash = undefined;
        await fh?.close().catch(() => {});
        fh = undefined;
        throw err;
      }
    },
    async check() {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const probe = await open(path, 'a', 0o600);
      await probe.close();
    },
    async head() {
      if (lastHash === undefined) await recover();
      return lastHash!;
    },
    async close() {
      await fh?.close();
      fh = undefined;
    },
  };
  // One write and one fdatasync per batch: the channel may hand it everything queued.
  Object.defineProperty(sink, GROUP_COMMIT, { value: true });
  return sink;
}
