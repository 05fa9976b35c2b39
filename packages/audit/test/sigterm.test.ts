import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PostgresService, startPostgres } from '@mcp-harden/test-services';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { audit, type ChainRecord, postgresSink, verifyChain } from '../src/index.js';
import { tempDir } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'sigterm-server.mjs');

let service: PostgresService;
const removeAfter: (() => void)[] = [];
afterEach(() => {
  for (const remove of removeAfter.splice(0)) remove();
});
beforeAll(async () => {
  // The fixture imports the built package by name.
  if (!existsSync(join(here, '..', 'dist', 'index.js'))) throw new Error('run `pnpm build` before the tests');
  service = await startPostgres();
}, 60_000);
afterAll(async () => {
  await service?.stop();
});

describe('graceful shutdown', () => {
  it.each([
    { pgDown: false, title: 'on disk and in PostgreSQL' },
    { pgDown: true, title: 'on disk and, with PostgreSQL down, in the spill file until replayed' },
  ])(
    'has every event of 200 in-flight calls $title after SIGTERM',
    async ({ pgDown }) => {
      const table = pgDown ? 'shutdown_down' : 'shutdown_up';
      const tmp = tempDir('sigterm');
      removeAfter.push(tmp.remove);
      const log = join(tmp.dir, 'audit.log');
      const spill = join(tmp.dir, 'spill');
      const child = spawn(process.execPath, [fixture, log, spill, service.url, table], {
        cwd: join(here, '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      removeAfter.push(() => {
        // Only if the test failed before the child exited.
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (stdout.includes('ready\n')) resolve();
        });
        child.once('exit', () => reject(new Error(`fixture exited early: ${stderr}`)));
      });
      // All 200 calls are inside the pipeline; nothing has been recorded yet.
      expect(existsSync(log) ? readFileSync(log, 'utf8') : '').toBe('');
      if (pgDown) await service.pause();
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      const delivery = /\[mcp-harden\/audit\] audit sink postgres: delivery failed, spilling[^\n]*\n/g;
      expect({ code, signal, stderr: stderr.replace(delivery, '') }).toEqual({
        code: 0,
        signal: null,
        stderr: '',
      });
      if (pgDown) expect(stderr).toMatch(delivery);
      const closed = /^closed (.*)$/m.exec(stdout);
      expect(closed).not.toBeNull();
      const [file, postgres] = JSON.parse(closed![1]!) as { delivered: number; spilled: number }[];
      expect(file).toMatchObject({ delivered: 200, spilled: 0 });
      expect(postgres).toMatchObject(
        pgDown ? { delivered: 0, spilled: 200 } : { delivered: 200, spilled: 0 },
      );

      const records = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ChainRecord);
      const requestIds = records.map((r) => r.event.requestId).sort((a, b) => Number(a) - Number(b));
      expect(requestIds).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(records.filter((r) => r.event.outcome.status === 'ok')).toHaveLength(100);
      expect(records.filter((r) => r.event.outcome.code === 'ERR_CANCELLED')).toHaveLength(100);
      expect(await verifyChain([log])).toMatchObject({ ok: true, records: 200 });

      if (pgDown) {
        const spilled = readdirSync(spill).flatMap((f) =>
          readFileSync(join(spill, f), 'utf8').trim().split('\n'),
        );
        expect(spilled).toHaveLength(200);
        await service.resume();
        // The next process replays the spill file on start.
        const next = audit({
          sinks: [postgresSink({ connectionString: service.url, table })],
          spillDir: spill,
        });
        await next.flush();
        await next.close();
      }
      const pool = new pg.Pool({ connectionString: service.url, max: 1 });
      try {
        const { rows } = await pool.query<{ n: number; ids: number }>(
          `SELECT count(*)::int AS n, count(DISTINCT request_id)::int AS ids FROM ${table}`,
        );
        expect(rows[0]).toEqual({ n: 200, ids: 200 });
      } finally {
        await pool.end();
      }
      expect(readdirSync(spill)).toEqual([]);
    },
    60_000,
  );
});
