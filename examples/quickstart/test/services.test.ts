import {
  type PostgresService,
  type RedisService,
  startPostgres,
  startRedis,
} from '@mcp-harden/test-services';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';

describe('REDIS_URL and DATABASE_URL (real redis-server and PostgreSQL on loopback)', () => {
  let redis: RedisService;
  let postgres: PostgresService;
  const lines: string[] = [];
  let ok = false;

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const result = await runDemo((line) => lines.push(line), {
      PATH: process.env.PATH,
      REDIS_URL: redis.url,
      DATABASE_URL: postgres.url,
    });
    ok = result.ok;
  }, 90_000);

  afterAll(async () => {
    await redis?.stop();
    await postgres?.stop();
  });

  it('plays the whole demo with both stores', () => {
    const transcript = lines.join('\n');
    expect(ok).toBe(true);
    expect(transcript).toMatch(/Audit records of this session \(13, from postgresql\)/);
    expect(transcript).toMatch(/refused: HTTP 429, ERR_RATE_LIMITED/);
  });

  it('keeps the notes_write budget in Redis (not the in-memory insurance limiter)', async () => {
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('mcp-harden:rl:*');
      const writeKey = keys.find(
        (k) => k.includes('principalTool') && k.includes('acme-writer') && k.includes('notes_write'),
      );
      expect(writeKey, `keys: ${keys.join(', ')}`).toBeDefined();
      // 3 writes allowed (limit 3) plus the refused one, which rate-limiter-flexible still counts.
      expect(Number(await client.get(writeKey!))).toBeGreaterThanOrEqual(3);
      expect(await client.pttl(writeKey!)).toBeGreaterThan(0);
    } finally {
      client.disconnect();
    }
  });

  it('writes the audit events, allowed and refused, to PostgreSQL', async () => {
    const pool = new pg.Pool({ connectionString: postgres.url });
    try {
      const { rows } = await pool.query<{
        method: string;
        target: string;
        subject: string;
        decision: string;
        code: string | null;
        degraded: string | null;
      }>(
        `SELECT method, target, subject, decision, code, event->'rateLimit'->>'degraded' AS degraded
           FROM mcp_audit_events ORDER BY time`,
      );
      // 12 chain calls and the token-less connect refused at the HTTP edge.
      expect(rows).toHaveLength(13);
      expect(rows).toContainEqual(
        expect.objectContaining({ subject: null, decision: 'denied', code: 'ERR_UNAUTHENTICATED' }),
      );
      expect(rows).toContainEqual(
        expect.objectContaining({
          method: 'tools/call',
          target: 'whoami',
          subject: 'acme-reader',
          decision: 'allowed',
        }),
      );
      expect(rows).toContainEqual(
        expect.objectContaining({ target: 'notes://globex/1', decision: 'denied', code: 'ERR_FORBIDDEN' }),
      );
      const limited = rows.filter((r) => r.code === 'ERR_RATE_LIMITED');
      expect(limited).toEqual([
        expect.objectContaining({ subject: 'acme-writer', decision: 'denied', degraded: null }),
      ]);
      const { rows: leaked } = await pool.query(
        `SELECT count(*)::int AS n FROM mcp_audit_events WHERE event::text LIKE '%AKIA%' OR event::text LIKE '%eyJ%'`,
      );
      expect(leaked[0]).toEqual({ n: 0 });
    } finally {
      await pool.end();
    }
  });
});
