/**
 * Cost per call of the rate-limit middleware on the memory and Redis stores, against the same
 * chain without it. Run with `pnpm --filter @mcp-harden/rate-limit bench` (starts a throw-away
 * redis-server on 127.0.0.1). Not part of `pnpm test`.
 */
import { compose, createContext, type Principal } from '@mcp-harden/core';
import { type RedisService, startRedis } from '@mcp-harden/test-services';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { rateLimit } from '../src/index.js';

const terminal = async () => ({ content: [] });
const users: Principal[] = Array.from({ length: 100 }, (_, i) => ({
  subject: `user-${i}`,
  scopes: [],
  roles: [],
  claims: {},
}));
const limits = {
  principal: { points: 1_000_000_000, duration: 60 },
  principalTool: { points: 1_000_000_000, duration: 60 },
  global: { points: 1_000_000_000, duration: 60 },
};

let i = 0;
const once = (chain: ReturnType<typeof compose>) => async (): Promise<void> => {
  await chain(
    createContext({
      method: 'tools/call',
      params: { name: 'echo', arguments: {} },
      principal: users[i++ % users.length],
    }),
    terminal,
  );
};

let redis: RedisService | undefined;
let client: Redis | undefined;
let viaRedis: (() => Promise<void>) | undefined;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise((resolve) => client!.once('ready', resolve));
  viaRedis = once(compose([rateLimit({ limits, redis: { client } })]));
});

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

describe('one tools/call through the chain (3 levels + a concurrency cap)', () => {
  bench('no rate limit (baseline)', once(compose([])), { time: 1000 });
  bench('memory store', once(compose([rateLimit({ limits, concurrency: { principal: 8 } })])), {
    time: 1000,
  });
  bench('redis store (loopback)', () => viaRedis!(), { time: 1000 });
});
