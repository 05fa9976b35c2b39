// The file sink when writes fail: a batch that fails part-way (after a rotation wrote its first
// records) is retried without writing those records twice (the failure is injected by making one
// rename, the rotation, fail), and a sink that cannot open its file spills and later replays.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compose, createContext } from '@mcp-harden/core';
import { describe, expect, it, vi } from 'vitest';
import { type AuditEvent, audit, chainFiles, fileSink, verifyChain } from '../src/index.js';
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

describe('fileSink() behind audit() while its disk is unusable', () => {
  it('spills every event while the file cannot be opened, then replays them into one intact chain', async () => {
    const tmp = tempDir('file-down');
    try {
      // The log's directory is a plain file for now: opening the log fails (ENOTDIR).
      const logDir = join(tmp.dir, 'logs');
      writeFileSync(logDir, 'not a directory');
      const log = join(logDir, 'audit.log');
      const trail = audit({
        sinks: [fileSink({ path: log, fsync: false })],
        spillDir: join(tmp.dir, 'spill'),
        batchSize: 10,
        retry: { attempts: 1 },
        replayIntervalMs: 60_000,
        onError: () => {},
      });
      const chain = compose([trail]);
      for (let i = 0; i < 5000; i++) {
        await chain(createContext({ method: 'tools/list', requestId: i }), async () => ({ tools: [] }));
        if (i % 500 === 499) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await trail.flush();
      expect(trail.stats()[0]).toMatchObject({ delivered: 0, spilled: 5000, degraded: true });
      rmSync(logDir);
      mkdirSync(logDir);
      await trail.flush();
      expect(trail.stats()[0]).toMatchObject({ delivered: 5000, replayed: 5000, degraded: false });
      await trail.close();
      const requestIds = readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { event: AuditEvent }).event.requestId);
      expect(requestIds).toEqual(Array.from({ length: 5000 }, (_, i) => i));
      expect(await verifyChain([log])).toMatchObject({ ok: true, records: 5000 });
    } finally {
      tmp.remove();
    }
  });
});
