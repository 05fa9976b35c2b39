import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { compose, createContext, defineMiddleware, HardenError } from '@mcp-harden/core';
import { harden } from '@mcp-harden/sdk';
import { type PostgresService, startPostgres } from '@mcp-harden/test-services';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Ajv } from 'ajv';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import schema from '../schema/audit-event.v1.json' with { type: 'json' };
import { type AuditEvent, audit, fileSink, postgresSink, stdoutSink, verifyChain } from '../src/index.js';
import { MemorySink, tempDir } from './helpers.js';

let service: PostgresService;
const removeAfter: (() => void)[] = [];
afterEach(() => {
  for (const remove of removeAfter.splice(0)) remove();
});
let pool: pg.Pool;

beforeAll(async () => {
  service = await startPostgres();
  pool = new pg.Pool({ connectionString: service.url, max: 2 });
  pool.on('error', () => {});
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await service?.stop();
});

const count = async (table: string) =>
  (
    await pool.query<{ n: number; ids: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM ${table}`,
    )
  ).rows[0]!;

function event(i: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    schemaVersion: 1,
    id: randomUUID(),
    time: new Date().toISOString(),
    method: 'tools/call',
    target: 'note',
    targetKind: 'tool',
    principal: { subject: 'u', clientId: null, tenant: 't', authMethod: 'jwt' },
    decision: { result: 'allowed', by: null, code: null },
    outcome: { status: 'ok', code: null },
    latencyMs: 1.5,
    argumentsDigest: null,
    sessionId: null,
    requestId: i,
    traceId: null,
    spanId: null,
    transport: 'memory',
    ...overrides,
  };
}

describe('postgresSink()', () => {
  it('migrates idempotently and never duplicates a retried batch', async () => {
    const sink = postgresSink({ connectionString: service.url, table: 'public.dedupe' });
    await sink.migrate();
    await sink.migrate();
    const batch = [
      event(1),
      event(2, { target: 'nul\u0000byte' }),
      event(3, { target: 'lone\ud800surrogate' }),
    ];
    await sink.write(batch);
    await sink.write(batch);
    await sink.write(batch.slice(1));
    expect(await count('dedupe')).toEqual({ n: 3, ids: 3 });
    const row = (
      await pool.query('SELECT event, subject, decision, request_id FROM dedupe WHERE id = $1', [
        batch[0]!.id,
      ])
    ).rows[0];
    expect(row).toMatchObject({ event: batch[0], subject: 'u', decision: 'allowed', request_id: '1' });
    const targets = (await pool.query<{ target: string }>('SELECT target FROM dedupe ORDER BY request_id'))
      .rows;
    expect(targets.map((r) => r.target)).toEqual(['note', 'nul\uFFFDbyte', 'lone\uFFFDsurrogate']);
    await expect(sink.check!(AbortSignal.timeout(5_000))).resolves.toBeUndefined();
    await sink.close!();
    expect(() => postgresSink({ connectionString: service.url, table: 'x; DROP TABLE y' })).toThrow(
      TypeError,
    );
    expect(() => postgresSink({})).toThrow(TypeError);
    expect(() => postgresSink({ pool, connectionString: service.url })).toThrow(TypeError);
  });

  it('ends with exactly 10,000 events after PostgreSQL was stopped for part of 10,000 calls', async () => {
    const tmp = tempDir('tenk');
    removeAfter.push(tmp.remove);
    const sink = postgresSink({ connectionString: service.url, table: 'ten_k' });
    await sink.migrate();
    const mirror = new MemorySink('mirror');
    const trail = audit({
      sinks: [sink, mirror],
      spillDir: tmp.dir,
      batchSize: 250,
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
      replayIntervalMs: 50,
      onError: () => {},
    });
    const chain = compose([trail]);
    const terminal = async () => ({ content: [{ type: 'text', text: 'ok' }] });
    let sawDown = false;
    for (let i = 0; i < 10_000; i++) {
      if (i === 3_000) await service.pause();
      if (i === 7_000) {
        // Wait (bounded) until the outage is observed, so the run provably crossed it.
        for (let t = 0; t < 200 && trail.stats()[0]!.spilled === 0; t++)
          await new Promise((r) => setTimeout(r, 10));
        sawDown = trail.stats()[0]!.degraded;
        await service.resume();
      }
      const ctx = createContext({
        method: 'tools/call',
        params: { name: 'note', arguments: { i } },
        requestId: i,
      });
      await chain(ctx, terminal);
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await trail.flush();
    await trail.close();
    const stats = trail.stats()[0]!;
    expect(sawDown).toBe(true);
    expect(stats.spilled).toBeGreaterThan(0);
    expect(stats.replayed).toBeGreaterThan(0);
    expect(await count('ten_k')).toEqual({ n: 10_000, ids: 10_000 });
    const ids = new Set((await pool.query<{ id: string }>('SELECT id FROM ten_k')).rows.map((r) => r.id));
    expect(mirror.events).toHaveLength(10_000);
    expect(mirror.events.every((e) => ids.has(e.id))).toBe(true);
    const requestIds = (await pool.query<{ r: string }>('SELECT DISTINCT request_id AS r FROM ten_k'))
      .rowCount;
    expect(requestIds).toBe(10_000);
    expect(readdirSync(tmp.dir)).toEqual([]);
  }, 120_000);
});

describe('audit() end to end with the official SDK client over HTTP', () => {
  const TOKEN = 'tok-SECRET-e2e-0123456789';
  const WRONG = 'tok-WRONG-e2e-9876543210';
  const PASSWORD = 'pw-SECRET-correct-horse';

  it('records every request, refusals included, and no token or raw argument in any sink', async () => {
    const tmp = tempDir('e2e');
    removeAfter.push(tmp.remove);
    const log = join(tmp.dir, 'audit.log');
    const spillDir = join(tmp.dir, 'spill');
    let stdout = '';
    const pgSink = postgresSink({ connectionString: service.url, table: 'e2e' });
    await pgSink.migrate();
    const trail = audit({
      sinks: [
        stdoutSink({
          stream: {
            write(chunk, cb) {
              stdout += chunk;
              cb();
              return true;
            },
          },
        }),
        fileSink({ path: log }),
        pgSink,
      ],
      spillDir,
    });
    const auth = defineMiddleware('auth', async function auth(ctx, next) {
      const header = ctx.request.headers?.authorization;
      if (header !== `Bearer ${TOKEN}`) {
        throw new HardenError('ERR_UNAUTHENTICATED', 'Invalid token', {
          httpHeaders: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
        });
      }
      ctx.principal = {
        subject: 'alice',
        clientId: 'agent-7',
        tenant: 'acme',
        scopes: ['notes'],
        roles: [],
        authMethod: 'jwt',
        claims: { sub: 'alice', token: TOKEN },
      };
      return next();
    });
    const transports = new Map<string, StreamableHTTPServerTransport>();
    const http: HttpServer = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      const id = req.headers['mcp-session-id'];
      let transport = typeof id === 'string' ? transports.get(id) : undefined;
      if (!transport) {
        // One hardened server per session, all sharing the same audit middleware.
        const perSession = new McpServer({ name: 'audited', version: '1.0.0' });
        const h = harden(perSession, { use: [trail, auth] });
        perSession.registerTool(
          'login',
          { inputSchema: { user: z.string(), password: z.string() } },
          async ({ user }) => ({
            content: [{ type: 'text', text: `welcome ${user}` }],
          }),
        );
        perSession.registerTool('broken', {}, async () => ({
          content: [{ type: 'text', text: 'failed' }],
          isError: true,
        }));
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => void transports.set(sid, created),
        });
        transport = created;
        await h.connect(created);
      }
      await transport.handleRequest(req, res, body);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
    const connect = async (token: string) => {
      const client = new Client({ name: 'agent', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(url, {
          requestInit: { headers: { Authorization: `Bearer ${token}` } },
        }),
      );
      return client;
    };
    const good = await connect(TOKEN);
    const bad = await connect(WRONG);
    try {
      const ok = await good.callTool({ name: 'login', arguments: { user: 'alice', password: PASSWORD } });
      expect(ok.content).toEqual([{ type: 'text', text: 'welcome alice' }]);
      const failed = await good.callTool({ name: 'broken', arguments: {} });
      expect(failed.isError).toBe(true);
      await expect(
        bad.callTool({ name: 'login', arguments: { user: 'mallory', password: PASSWORD } }),
      ).rejects.toThrow(/Invalid token/);
    } finally {
      await good.close();
      await bad.close();
      for (const t of transports.values()) await t.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
    await trail.close();

    const fromStdout = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    const fromFile = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event as AuditEvent);
    const fromPg = (await pool.query<{ event: AuditEvent }>('SELECT event FROM e2e ORDER BY time')).rows.map(
      (r) => r.event,
    );
    const validate = new Ajv({ strict: true, allowUnionTypes: true }).compile(schema);
    for (const events of [fromStdout, fromFile, fromPg]) {
      for (const e of events) expect(validate(e), JSON.stringify(validate.errors)).toBe(true);
      const calls = events.filter((e) => e.method === 'tools/call');
      expect(calls).toHaveLength(3);
      const byTarget = (subject: string | undefined, target: string) =>
        calls.find((e) => e.target === target && e.principal?.subject === subject);
      expect(byTarget('alice', 'login')).toMatchObject({
        decision: { result: 'allowed' },
        outcome: { status: 'ok' },
        principal: { subject: 'alice', clientId: 'agent-7', tenant: 'acme' },
        transport: 'http',
      });
      expect(byTarget('alice', 'login')!.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(byTarget('alice', 'broken')!.outcome).toEqual({ status: 'tool_error', code: null });
      expect(byTarget(undefined, 'login')).toMatchObject({
        principal: null,
        decision: { result: 'denied', by: 'auth', code: 'ERR_UNAUTHENTICATED' },
      });
    }
    expect(await verifyChain([log])).toMatchObject({ ok: true });
    const everything = [
      stdout,
      readFileSync(log, 'utf8'),
      JSON.stringify(fromPg),
      ...readdirSync(spillDir).map((f) => readFileSync(join(spillDir, f), 'utf8')),
    ].join('\n');
    for (const secret of [TOKEN, WRONG, PASSWORD, 'mallory', 'Bearer'])
      expect(everything).not.toContain(secret);
  }, 60_000);
});
