import { randomUUID } from 'node:crypto';
import type { Middleware } from '@mcp-harden/core';
import { type RedisService, startRedis } from '@mcp-harden/test-services';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RateLimitMiddleware,
  type RateLimitOptions,
  type RateLimitState,
  rateLimit,
} from '../src/index.js';
import { authenticateAs, buildServer, type Connected, connectInMemory, outcome, tally } from './fixture.js';
import { principal } from './helpers.js';

let redis: RedisService;
const clients: Redis[] = [];
const connections: Connected[] = [];

/** An ioredis client that fails fast, so outage tests stay quick. */
async function newClient(): Promise<Redis> {
  const client = new Redis(redis.url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 500,
    retryStrategy: () => 50,
  });
  client.on('error', () => {}); // ioredis logs unhandled connection errors otherwise
  clients.push(client);
  await waitReady(client);
  return client;
}

async function waitReady(client: Redis): Promise<void> {
  await expect.poll(() => client.status, { timeout: 10_000, interval: 20 }).toBe('ready');
}

/** A hardened server whose every call is made by `subject`, limited by a Redis-backed limiter. */
async function replica(
  options: Omit<RateLimitOptions, 'redis'>,
  subject = 'alice',
  replicas?: number,
): Promise<{
  limiter: RateLimitMiddleware;
  client: Redis;
  decisions: Array<RateLimitState | undefined>;
  call(): Promise<string>;
}> {
  const client = await newClient();
  const limiter = rateLimit({ ...options, redis: { client, timeoutMs: 500, replicas } });
  const decisions: Array<RateLimitState | undefined> = [];
  // Outermost, like audit: sees the decision of every call, refused or not.
  const observe: Middleware = async (ctx, next) => {
    try {
      return await next();
    } finally {
      if (ctx.method === 'tools/call') decisions.push(ctx.state.rateLimit);
    }
  };
  const connected = await connectInMemory(
    buildServer([observe, authenticateAs(principal(subject)), limiter]),
  );
  connections.push(connected);
  return {
    limiter,
    client,
    decisions,
    call: () => outcome(connected.client.callTool({ name: 'echo', arguments: {} })),
  };
}

beforeAll(async () => {
  redis = await startRedis();
}, 30_000);

afterEach(async () => {
  for (const c of connections.splice(0)) await c.close().catch(() => {});
  for (const c of clients.splice(0)) c.disconnect();
});

afterAll(async () => {
  await redis?.stop();
});

describe('rateLimit() with Redis', () => {
  it('two server instances sharing one Redis enforce one shared limit (20/min in total, not 40)', async () => {
    const keyPrefix = `t-${randomUUID()}`;
    const limits = { principal: { points: 20, duration: 60 } };
    const a = await replica({ limits, keyPrefix });
    const b = await replica({ limits, keyPrefix });
    const outcomes: string[] = [];
    for (let i = 0; i < 25; i++) outcomes.push(await (i % 2 === 0 ? a : b).call());
    expect(tally(outcomes)).toEqual({ ok: 20, ERR_RATE_LIMITED: 5 });
    expect(outcomes.slice(0, 20).every((o) => o === 'ok')).toBe(true);
    expect(a.limiter.stats().refusals.principal! + b.limiter.stats().refusals.principal!).toBe(5);
    expect(a.limiter.stats().storeErrors + b.limiter.stats().storeErrors).toBe(0);

    // The same two replicas on the memory store would each allow 20: the shared store is what holds.
    const m1 = rateLimit({ limits });
    const m2 = rateLimit({ limits });
    const memory = [await connectInMemory(buildServer([authenticateAs(principal('alice')), m1]))];
    memory.push(await connectInMemory(buildServer([authenticateAs(principal('alice')), m2])));
    connections.push(...memory);
    const separate: string[] = [];
    for (let i = 0; i < 50; i++) {
      separate.push(await outcome(memory[i % 2]!.client.callTool({ name: 'echo', arguments: {} })));
    }
    expect(tally(separate)).toEqual({ ok: 40, ERR_RATE_LIMITED: 10 });
  });

  it('keeps keys of different principals apart in Redis', async () => {
    const keyPrefix = `t-${randomUUID()}`;
    const limits = { principal: { points: 2, duration: 60 } };
    const victim = await replica({ limits, keyPrefix }, 'alice');
    const impostor = await replica({ limits, keyPrefix }, '["principal",null,"alice"]');
    const other = await replica({ limits, keyPrefix }, 'alice","');
    for (const r of [impostor, other]) {
      expect(tally([await r.call(), await r.call(), await r.call()])).toEqual({ ok: 2, ERR_RATE_LIMITED: 1 });
    }
    expect(tally([await victim.call(), await victim.call()])).toEqual({ ok: 2 });
    const keys = await victim.client.keys(`${keyPrefix}:*`);
    expect(keys).toHaveLength(3);
  });

  it('works with a node-redis client as well as ioredis', async () => {
    const keyPrefix = `t-${randomUUID()}`;
    const nodeRedis = createClient({
      url: redis.url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 500, reconnectStrategy: () => 50 },
    });
    nodeRedis.on('error', () => {});
    await nodeRedis.connect();
    try {
      const limits = { principal: { points: 3, duration: 60 } };
      const viaNodeRedis = rateLimit({ limits, keyPrefix, redis: { client: nodeRedis } });
      const connected = await connectInMemory(
        buildServer([authenticateAs(principal('alice')), viaNodeRedis]),
      );
      connections.push(connected);
      const viaIoredis = await replica({ limits, keyPrefix });
      const outcomes = [
        await outcome(connected.client.callTool({ name: 'echo', arguments: {} })),
        await viaIoredis.call(),
        await outcome(connected.client.callTool({ name: 'echo', arguments: {} })),
        await viaIoredis.call(),
      ];
      expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ERR_RATE_LIMITED']);
      expect(viaNodeRedis.stats().storeErrors).toBe(0);
      await expect(viaNodeRedis.healthChecks![0]!.check(AbortSignal.timeout(2_000))).resolves.toBeUndefined();
    } finally {
      nodeRedis.destroy();
    }
  });

  it('treats a store that does not answer in time as failing, and decides by insurance', async () => {
    const { limiter, client, call } = await replica({
      limits: { principal: { points: 5, duration: 60 } },
      keyPrefix: `t-${randomUUID()}`,
    });
    const admin = await newClient();
    expect(await call()).toBe('ok');
    // Redis stays up but answers nobody for 2 s: longer than the 500 ms store time-out.
    await admin.call('CLIENT', 'PAUSE', '2000', 'ALL');
    expect(await call()).toBe('ok');
    expect(limiter.stats()).toMatchObject({ storeErrors: 1, insuranceDecisions: 1 });
    expect(client.status).toBe('ready');
    await admin.call('CLIENT', 'UNPAUSE');
  });

  it('reports the store in its health check', async () => {
    const { limiter } = await replica({
      limits: { global: { points: 10, duration: 1 } },
      keyPrefix: `t-${randomUUID()}`,
    });
    expect(limiter.healthChecks?.map((h) => h.name)).toEqual(['rate-limit:redis']);
    await expect(limiter.healthChecks![0]!.check(AbortSignal.timeout(2_000))).resolves.toBeUndefined();
  });

  it('Redis stopped mid-run: no internal error, the insurance limiter keeps limiting, then the shared limit is back', async () => {
    const keyPrefix = `t-${randomUUID()}`;
    const limits = { principal: { points: 10, duration: 60 } };
    const failures: unknown[] = [];
    const a = await replica({ limits, keyPrefix, onStoreFailure: (e) => failures.push(e) });
    const b = await replica({ limits, keyPrefix });
    const closed = await replica(
      { limits, keyPrefix: `${keyPrefix}-closed`, onStoreError: 'fail-closed' },
      'carol',
    );
    const opened = await replica(
      { limits, keyPrefix: `${keyPrefix}-open`, onStoreError: 'fail-open' },
      'dave',
    );
    const shared = await replica({ limits, keyPrefix: `${keyPrefix}-shared` }, 'erin', 4);
    const all: string[] = [];
    const track = async (r: { call(): Promise<string> }) => {
      const o = await r.call();
      all.push(o);
      return o;
    };

    // Redis up: 4 calls are counted in Redis.
    for (let i = 0; i < 4; i++) expect(await track(a)).toBe('ok');
    const [key] = await a.client.keys(`${keyPrefix}:principal:*`);
    expect(await a.client.get(key!)).toBe('4');

    await redis.stop();
    for (const c of [a, b, closed, opened, shared]) {
      await expect.poll(() => c.client.status, { timeout: 5_000, interval: 20 }).not.toBe('ready');
    }
    await expect(a.limiter.healthChecks![0]!.check(AbortSignal.timeout(1_000))).rejects.toThrow();

    // Redis down: replica A's insurance limiter allows its own 10 and refuses the rest.
    const duringOutage: string[] = [];
    for (let i = 0; i < 12; i++) duringOutage.push(await track(a));
    expect(duringOutage).toEqual([...Array(10).fill('ok'), 'ERR_RATE_LIMITED', 'ERR_RATE_LIMITED']);
    expect(a.limiter.stats()).toMatchObject({ insuranceDecisions: 12, refusals: { principal: 2 } });
    expect(a.limiter.stats().storeErrors).toBe(12);
    expect(failures).toHaveLength(12);
    expect(a.decisions.slice(4).map((d) => [d?.refused, d?.degraded])).toEqual([
      ...Array(10).fill([false, true]),
      [true, true],
      [true, true],
    ]);
    expect(a.decisions[0]).toEqual({ level: 'principal', refused: false, remainingPoints: 9 });
    // fail-closed refuses with ERR_UNAVAILABLE; fail-open lets calls through unmetered.
    expect(await track(closed)).toBe('ERR_UNAVAILABLE');
    expect(closed.limiter.stats()).toMatchObject({ failClosed: 1, refusals: { store: 1 } });
    const unmetered: string[] = [];
    for (let i = 0; i < 12; i++) unmetered.push(await track(opened));
    expect(tally(unmetered)).toEqual({ ok: 12 });
    expect(opened.limiter.stats().failOpen).toBe(12);
    // One of 4 replicas: its insurance limiter allows a quarter of the shared budget.
    const quarter: string[] = [];
    for (let i = 0; i < 4; i++) quarter.push(await track(shared));
    expect(quarter).toEqual(['ok', 'ok', 'ERR_RATE_LIMITED', 'ERR_RATE_LIMITED']);

    await redis.restart();
    for (const c of [a, b]) await waitReady(c.client);
    await expect(a.limiter.healthChecks![0]!.check(AbortSignal.timeout(2_000))).resolves.toBeUndefined();

    // Redis back (empty after the restart): A and B share one budget of 10 again. Had A stayed on
    // its exhausted insurance limiter, A's calls would be refused.
    const afterRestart: string[] = [];
    for (let i = 0; i < 11; i++) afterRestart.push(await track(i % 2 === 0 ? a : b));
    expect(afterRestart).toEqual([...Array(10).fill('ok'), 'ERR_RATE_LIMITED']);
    const [restored] = await a.client.keys(`${keyPrefix}:principal:*`);
    expect(await a.client.get(restored!)).toBe('11');
    expect(a.limiter.stats().storeErrors).toBe(12);
    expect(a.decisions.slice(16).every((d) => d?.degraded === undefined)).toBe(true);

    // Not one request, in any phase, failed with an internal error.
    expect(
      all.filter((o) => o === 'ERR_INTERNAL' || o === 'ERR_MIDDLEWARE' || o.startsWith('JSONRPC_')),
    ).toEqual([]);
  }, 30_000);
});
