import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent, AuditSink } from '../src/index.js';

/** A sink that keeps events in memory and can be switched down. */
export class MemorySink implements AuditSink {
  readonly events: AuditEvent[] = [];
  down = false;
  writes = 0;
  /** When set, only this many more writes succeed, then the sink is down. */
  allowWrites: number | undefined;
  constructor(readonly name = 'memory') {}
  async write(events: readonly AuditEvent[]): Promise<void> {
    this.writes++;
    if (this.allowWrites !== undefined) {
      if (this.allowWrites === 0) this.down = true;
      else this.allowWrites--;
    }
    if (this.down) throw new Error(`${this.name} is down`);
    this.events.push(...events);
  }
}

/** A sink whose writes hang until released, to fill the in-memory queue. */
export class GatedSink implements AuditSink {
  readonly events: AuditEvent[] = [];
  #open!: () => void;
  #gate = new Promise<void>((r) => {
    this.#open = r;
  });
  constructor(readonly name = 'gated') {}
  async write(events: readonly AuditEvent[]): Promise<void> {
    await this.#gate;
    this.events.push(...events);
  }
  release(): void {
    this.#open();
  }
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `mcp-harden-audit-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
