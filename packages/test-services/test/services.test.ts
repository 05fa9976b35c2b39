import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPostgres, startRedis } from '../src/index.js';

describe('test services', () => {
  it('starts, stops and restarts a real Redis on loopback', async () => {
    const redis = await startRedis();
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    client.disconnect();
    await redis.restart();
    const again = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await again.connect();
    expect(await again.ping()).toBe('PONG');
    again.disconnect();
    await redis.stop();
  });

  it('rejects with a clear error when redis-server is not installed', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startRedis()).rejects.toThrow(/redis-server on port \d+ could not be started: .*ENOENT/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('creates, pauses and resumes a real PostgreSQL cluster on loopback', async () => {
    const server = await startPostgres();
    try {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      expect((await client.query('select 1 + 1 as two')).rows[0]).toEqual({ two: 2 });
      await client.end();
      await server.pause();
      await server.resume();
      const again = new pg.Client({ connectionString: server.url });
      await again.connect();
      expect((await again.query('select 2 as n')).rows[0]).toEqual({ n: 2 });
      await again.end();
    } finally {
      await server.stop();
    }
  }, 60_000);
});
