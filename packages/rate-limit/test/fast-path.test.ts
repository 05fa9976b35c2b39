import { getEventListeners } from 'node:events';
import { createContext, HardenError, type McpResult } from '@mcp-harden/core';
import { seededRandom } from '@mcp-harden/test-services';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rateLimit } from '../src/index.js';
import { encodeKey, KeyCache, principalParts } from '../src/keys.js';
import { call, principal, rejection, run, runMany } from './helpers.js';

const alice = principal('alice');

describe('KeyCache', () => {
  const tricky = [
    'alice',
    '',
    'null',
    'ALICE',
    'a","b',
    '["principal",null,"alice"]',
    'x'.repeat(300),
    '\u0000',
  ];

  it('returns exactly what encodeKey returns, for principals and principal + target', () => {
    const cache = new KeyCache();
    const principals = [
      undefined,
      ...tricky.map((s) => principal(s)),
      ...tricky.map((t) => principal('alice', { tenant: t })),
    ];
    for (let pass = 0; pass < 2; pass++) {
      for (const p of principals) {
        expect(cache.principalKey(p)).toBe(encodeKey(principalParts(p)));
        for (const kind of [null, 'tool', 'resource']) {
          for (const target of tricky) {
            expect(cache.targetKey(p, kind, target)).toBe(encodeKey([...principalParts(p), kind, target]));
          }
        }
      }
    }
  });

  it('returns the concurrency slot keys the gate used before, and stays bounded', () => {
    const cache = new KeyCache();
    for (let pass = 0; pass < 2; pass++) {
      for (const p of [undefined, ...tricky.map((s) => principal(s)), principal('a', { tenant: 'null' })]) {
        expect(cache.entryFor(p).slotKey).toBe(`principal:${encodeKey(principalParts(p))}`);
      }
      for (const kind of [null, 'tool', 'prompt']) {
        for (const target of tricky) {
          expect(cache.toolSlotKey(kind, target)).toBe(`tool:${encodeKey([kind, target])}`);
        }
      }
    }
    for (let i = 0; i < 3_000; i++) {
      expect(cache.toolSlotKey('tool', `t-${i}`)).toBe(`tool:${encodeKey(['tool', `t-${i}`])}`);
      expect(cache.toolSlotCount).toBeLessThanOrEqual(1024);
    }
    // A target named like another kind's target keeps its own slot.
    expect(cache.toolSlotKey(null, 'tool')).not.toBe(cache.toolSlotKey('tool', ''));
  });

  it('never gives two different component lists the same key', () => {
    const cache = new KeyCache();
    const seen = new Map<string, string>();
    const record = (key: string, what: string) => {
      const before = seen.get(key);
      if (before !== undefined) expect(before).toBe(what);
      seen.set(key, what);
    };
    for (const subject of tricky) {
      for (const tenant of [undefined, ...tricky]) {
        const p = principal(subject, tenant === undefined ? {} : { tenant });
        record(cache.principalKey(p), JSON.stringify(['p', subject, tenant]));
        for (const target of tricky) {
          record(cache.targetKey(p, 'tool', target), JSON.stringify(['t', subject, tenant, target]));
        }
      }
    }
    record(cache.principalKey(undefined), 'anonymous');
    expect(seen.size).toBe(tricky.length * (tricky.length + 1) * (tricky.length + 1) + 1);
  });

  it('follows a principal that changes between calls (keys by value, not by object)', () => {
    const cache = new KeyCache();
    const p = principal('alice');
    expect(cache.principalKey(p)).toBe('["principal",null,"alice"]');
    p.subject = 'bob';
    expect(cache.principalKey(p)).toBe('["principal",null,"bob"]');
    expect(cache.targetKey(p, 'tool', 'echo')).toBe('["principal",null,"bob","tool","echo"]');
  });

  it('stays bounded under principal and target churn, and still answers correctly', () => {
    const cache = new KeyCache();
    for (let i = 0; i < 5_000; i++) {
      const p = principal(`user-${i}`);
      expect(cache.principalKey(p)).toBe(encodeKey(principalParts(p)));
      expect(cache.size).toBeLessThanOrEqual(1024);
    }
    for (let i = 0; i < 1_000; i++) {
      expect(cache.targetKey(alice, 'tool', `t-${i}`)).toBe(
        encodeKey([...principalParts(alice), 'tool', `t-${i}`]),
      );
    }
    expect(cache.size).toBeLessThanOrEqual(1024);
  });
});

describe('rateLimit() memory fast path', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('decides synchronously: next() runs before the call yields, without RateLimiterMemory', async () => {
    const consume = vi.spyOn(RateLimiterMemory.prototype, 'consume');
    const limiter = rateLimit({
      limits: {
        principalTool: { points: 10, duration: 60 },
        principal: { points: 10, duration: 60 },
        global: { points: 10, duration: 60 },
      },
    });
    let reached = false;
    const ctx = call('echo', { principal: alice });
    const pending = limiter(ctx, async () => {
      reached = true;
      return {};
    });
    expect(reached).toBe(true);
    expect(ctx.state.rateLimit).toEqual({ level: 'principalTool', refused: false, remainingPoints: 9 });
    await pending;
    expect(consume).not.toHaveBeenCalled();
    consume.mockRestore();
  });

  it('restarts the window after `duration` and reports the time left as retryAfterMs and Retry-After', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const limiter = rateLimit({ limits: { principal: { points: 2, duration: 60 } } });
    expect(await runMany([limiter], 2, () => call('echo', { principal: alice }))).toEqual({ ok: 2 });
    vi.advanceTimersByTime(15_250);
    const ctx = call('echo', { principal: alice });
    const refusal = (await rejection(limiter(ctx, async () => ({})))) as HardenError;
    expect(refusal).toBeInstanceOf(HardenError);
    expect(refusal.data).toEqual({ level: 'principal', retryAfterMs: 44_750 });
    expect(refusal.httpHeaders).toEqual({ 'Retry-After': '45' });
    expect(ctx.state.rateLimit).toEqual({
      level: 'principal',
      refused: true,
      retryAfterMs: 44_750,
      remainingPoints: 0,
    });
    vi.advanceTimersByTime(44_749);
    expect(await run([limiter], call('echo', { principal: alice }))).toBe('ERR_RATE_LIMITED');
    vi.advanceTimersByTime(1);
    const fresh = call('echo', { principal: alice });
    expect(await run([limiter], fresh)).toBe('ok');
    expect(fresh.state.rateLimit).toEqual({ level: 'principal', refused: false, remainingPoints: 1 });
  });

  it('on a refusal gives the other levels their points back, and reports the longest wait', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const limiter = rateLimit({
      limits: {
        principalTool: { points: 1, duration: 10 },
        principal: { points: 3, duration: 60 },
        global: { points: 100, duration: 60 },
      },
    });
    expect(await run([limiter], call('a', { principal: alice }))).toBe('ok');
    vi.advanceTimersByTime(2_000);
    // principalTool refuses (8 s left); principal and global are refunded.
    for (let i = 0; i < 5; i++) {
      const refusal = (await rejection(
        limiter(call('a', { principal: alice }), async () => ({})),
      )) as HardenError;
      expect(refusal.data).toEqual({ level: 'principalTool', retryAfterMs: 8_000 });
    }
    const other = call('b', { principal: alice });
    expect(await run([limiter], other)).toBe('ok');
    expect(other.state.rateLimit).toEqual({ level: 'principalTool', refused: false, remainingPoints: 0 });
    expect(await run([limiter], call('c', { principal: alice }))).toBe('ok');
    // The principal budget (3) is now spent: both levels refuse; the longer wait (principal) wins.
    const both = (await rejection(limiter(call('a', { principal: alice }), async () => ({})))) as HardenError;
    expect(both.data).toEqual({ level: 'principal', retryAfterMs: 58_000 });
    expect(limiter.stats()).toMatchObject({ allowed: 3, refusals: { principalTool: 5, principal: 1 } });
  });

  it('counts uncapped calls in flight while they run', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 10, duration: 60 } } });
    let finish!: (r: McpResult) => void;
    const running = limiter(
      call('t', { principal: alice }),
      () => new Promise<McpResult>((resolve) => (finish = resolve)),
    );
    expect(limiter.stats().inFlight).toBe(1);
    finish({});
    await running;
    expect(limiter.stats().inFlight).toBe(0);
    // A handler that fails releases the count too.
    await rejection(limiter(call('t', { principal: alice }), async () => Promise.reject(new Error('boom'))));
    expect(limiter.stats().inFlight).toBe(0);
  });

  it('turns every error into a rejection, also a next() that throws synchronously', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 1, duration: 60 } } });
    const throwing = (): Promise<McpResult> => {
      throw new Error('sync failure');
    };
    for (const ctx of [
      call('t', { principal: alice }),
      createContext({ method: 'tools/list', principal: alice }),
    ]) {
      let pending: Promise<McpResult> | undefined;
      expect(() => {
        pending = limiter(ctx, throwing);
      }).not.toThrow();
      expect(((await rejection(pending!)) as Error).message).toBe('sync failure');
      expect(limiter.stats().inFlight).toBe(0);
    }
    // The point was spent by the call that reached next(); the refusal is a rejection too.
    let refused: Promise<McpResult> | undefined;
    expect(() => {
      refused = limiter(call('t', { principal: alice }), async () => ({}));
    }).not.toThrow();
    expect(((await rejection(refused!)) as HardenError).code).toBe('ERR_RATE_LIMITED');
    expect(limiter.stats()).toMatchObject({ allowed: 1, inFlight: 0, refusals: { principal: 1 } });
  });

  it('hands back exactly what next() resolves with', async () => {
    const limiter = rateLimit({ limits: { global: { points: 10, duration: 60 } } });
    const result: McpResult = { content: [{ type: 'text', text: 'same object' }] };
    expect(await limiter(call('t', { principal: alice }), async () => result)).toBe(result);
    expect(await limiter(createContext({ method: 'tools/list' }), async () => result)).toBe(result);
  });

  it('applies a concurrency cap declared by policy when no cap is set in the options', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 100, duration: 60 } } });
    const policy = { rateLimit: { concurrency: 1 } };
    let finish!: (r: McpResult) => void;
    const abort = new AbortController();
    const first = limiter(
      call('heavy', { principal: alice, policy, signal: abort.signal }),
      () => new Promise<McpResult>((resolve) => (finish = resolve)),
    );
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(1);
    expect(await run([limiter], call('heavy', { principal: principal('bob'), policy }))).toBe(
      'ERR_RATE_LIMITED',
    );
    expect(limiter.stats().refusals).toEqual({ 'concurrency:tool': 1 });
    finish({});
    await first;
    expect(await run([limiter], call('heavy', { principal: principal('bob'), policy }))).toBe('ok');
  });

  it('refuses a call cancelled before it arrives, without spending a point', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 1, duration: 60 } } });
    const abort = new AbortController();
    abort.abort();
    expect(await run([limiter], call('t', { principal: alice, signal: abort.signal }))).toBe('ERR_CANCELLED');
    expect(await run([limiter], call('t', { principal: alice }))).toBe('ok');
  });

  it('asks a lazy context whether the call was cancelled without making its signal', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 1, duration: 60 } } });
    let cancelled = true;
    let made = 0;
    const lazy = () =>
      call('t', {
        principal: alice,
        signal: () => {
          made++;
          return new AbortController().signal;
        },
        aborted: () => cancelled,
      });
    expect(await run([limiter], lazy())).toBe('ERR_CANCELLED');
    cancelled = false;
    expect(await run([limiter], lazy())).toBe('ok');
    expect(made).toBe(0);
  });
});

describe('rateLimit() memory store against the RateLimiterMemory reference', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('makes every decision the promise-based RateLimiterMemory version made, figures included', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const limits = {
      session: { points: 6, duration: 2 },
      principalTool: { points: 3, duration: 1 },
      principal: { points: 5, duration: 3 },
      tenant: { points: 8, duration: 2 },
      global: { points: 12, duration: 1 },
    } as const;
    const levels = ['session', 'principalTool', 'principal', 'tenant', 'global'] as const;
    const limiter = rateLimit({ limits, costs: { heavy: 2, free: 0 } });
    // The reference: the previous implementation's decision, one RateLimiterMemory per level.
    const reference = Object.fromEntries(levels.map((l) => [l, new RateLimiterMemory(limits[l])]));
    const decide = async (parts: Array<[(typeof levels)[number], string]>, cost: number) => {
      if (parts.length === 0 || cost === 0) return { state: { level: 'none', refused: false } };
      const results = await Promise.all(
        parts.map(([level, key]) =>
          reference[level]!.consume(key, cost).then(
            (r) => ({ refused: false, remaining: r.remainingPoints, ms: r.msBeforeNext }),
            (r) => ({ refused: true, remaining: r.remainingPoints, ms: r.msBeforeNext }),
          ),
        ),
      );
      let refusedAt: { level: string; ms: number; remaining: number } | undefined;
      results.forEach((r, i) => {
        if (r.refused && (!refusedAt || r.ms > refusedAt.ms))
          refusedAt = { level: parts[i]![0], ms: r.ms, remaining: r.remaining };
      });
      if (refusedAt) {
        await Promise.all(
          results.map((r, i) =>
            r.refused ? undefined : reference[parts[i]![0]]!.reward(parts[i]![1], cost),
          ),
        );
        const retryAfterMs = Math.max(1, Math.ceil(refusedAt.ms));
        return {
          error: { level: refusedAt.level, retryAfterMs },
          state: {
            level: refusedAt.level,
            refused: true,
            retryAfterMs,
            remainingPoints: refusedAt.remaining,
          },
        };
      }
      let tightest: { level: string; remaining: number } | undefined;
      results.forEach((r, i) => {
        if (!tightest || r.remaining < tightest.remaining)
          tightest = { level: parts[i]![0], remaining: r.remaining };
      });
      return { state: { level: tightest!.level, refused: false, remainingPoints: tightest!.remaining } };
    };

    const random = seededRandom(7);
    const subjects = ['alice', 'bob', 'anonymous'];
    const tools = ['echo', 'heavy', 'free'];
    let refused = 0;
    for (let step = 0; step < 2_000; step++) {
      const subject = subjects[Math.floor(random() * subjects.length)]!;
      const tenant = random() < 0.5 ? 'acme' : undefined;
      const who = random() < 0.2 ? undefined : principal(subject, tenant === undefined ? {} : { tenant });
      const tool = tools[Math.floor(random() * tools.length)]!;
      const sessionId = random() < 0.5 ? `s${Math.floor(random() * 2)}` : undefined;
      const ctx = call(tool, { principal: who, ...(sessionId === undefined ? {} : { sessionId }) });
      const ids = principalParts(who);
      const parts: Array<[(typeof levels)[number], string]> = [];
      if (sessionId !== undefined) parts.push(['session', encodeKey([sessionId])]);
      parts.push(['principalTool', encodeKey([...ids, 'tool', tool])]);
      parts.push(['principal', encodeKey(ids)]);
      if (tenant !== undefined && who) parts.push(['tenant', encodeKey([tenant])]);
      parts.push(['global', encodeKey([])]);
      const cost = tool === 'heavy' ? 2 : tool === 'free' ? 0 : 1;
      const expected = await decide(parts, cost);
      let error: unknown;
      try {
        await limiter(ctx, async () => ({}));
      } catch (err) {
        error = err;
      }
      if (expected.error) {
        refused++;
        expect((error as HardenError).data, `step ${step}`).toEqual(expected.error);
        expect((error as HardenError).httpHeaders).toEqual({
          'Retry-After': String(Math.max(1, Math.ceil(expected.error.retryAfterMs / 1000))),
        });
      } else {
        expect(error, `step ${step}`).toBeUndefined();
      }
      expect(ctx.state.rateLimit, `step ${step}`).toEqual(expected.state);
      if (random() < 0.3) vi.advanceTimersByTime(Math.floor(random() * 400));
    }
    // The walk reached every kind of decision.
    expect(refused).toBeGreaterThan(100);
    expect(limiter.stats().allowed).toBeGreaterThan(100);
    expect(Object.keys(limiter.stats().refusals).sort()).toEqual([...levels].sort());
  });
});
