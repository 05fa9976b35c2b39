// A batch that fails part-way (after a rotation wrote its first records) is retried without
// writing those records twice. The failure is injected by making one rename (the rotation) fail.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { type AuditEvent, chainFiles, fileSink, verifyChain } from '../src/index.js';
import { tempDir } from './helpers.js';

const failRename = vi.hoisted(() => ({ next: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    rename: async (from: string, to: string) => {
      if (failRename.next) {
        failRename.next = false;
        throw new Error('rename failed (injected)');
      }
      return actual.rename(from, to);
    },
  };
});

function event(i: number): AuditEvent {
  return {
    schemaVersion: 1,
    id: `e-${i}`,
    time: '2026-12-05T08:00:00.000Z',
    method: 'tools/call',
    target: 'note',
    targetKind: 'tool',
    principal: null,
    decision: { result: 'allowed', by: null, code: null },
    outcome: { status: 'ok', code: null },
    latencyMs: 1,
    argumentsDigest: null,
    sessionId: null,
    requestId: i,
    traceId: null,
    spanId: null,
    transport: 'memory',
  };
}

describe('fileSink() retry of a batch that failed part-way', () => {
  it('writes every record once when a rotation fails in the middle of a batch and the batch is retried', async () => {
    const tmp = tempDir('retry');
    try {
      const log = join(tmp.dir, 'audit.log');
      const sink = fileSink({ path: log, fsync: false, rotate: { maxBytes: 4000 } });
      const events = Array.from({ length: 40 }, (_, i) => event(i));
      await sink.write(events.slice(0, 3));
      failRename.next = true;
      // The records that fit the active file are written, then the rotation fails.
      await expect(sink.write(events.slice(3))).rejects.toThrow('rename failed (injected)');
      const before = readFileSync(log, 'utf8').split('\n').filter(Boolean).length;
      expect(before).toBeGreaterThan(3);
      await sink.write(events.slice(3));
      await sink.close?.();
      const files = chainFiles(log);
      expect(files.length).toBeGreaterThan(2);
      const ids = files.flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { event: AuditEvent }).event.id),
      );
      expect(ids).toEqual(events.map((e) => e.id));
      expect(await verifyChain(files)).toMatchObject({ ok: true, records: 40 });
    } finally {
      tmp.remove();
    }
  });
});
