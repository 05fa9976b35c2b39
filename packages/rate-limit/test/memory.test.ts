import { getEventListeners } from 'node:events';
import {
  createContext,
  HardenError,
  type McpResult,
  type Middleware,
  toJsonRpcError,
} from '@mcp-harden/core';
import { describe, expect, it } from 'vitest';
import { rateLimit } from '../src/index.js';
import { call, principal, rejection, run, runMany } from './helpers.js';

const alice = principal('alice');
const asAlice = (tool = 'echo') => call(tool, { principal: alice });

describe('rateLimit() with the memory store', () => {
  it('refuses the call over the principal budget with ERR_RATE_LIMITED, the level and Retry-After', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 3, duration: 60 } } });
    expect(await runMany([limiter], 3, () => asAlice())).toEqual({ ok: 3 });
    const ctx = asAlice();
    const error = await rejection(limiter(ctx, async () => ({})));
    expect(error).toBeInstanceOf(HardenError);
    const refusal = error as HardenError;
    expect(refusal.code).toBe('ERR_RATE_LIMITED');
    expect(refusal.httpStatus).toBe(429);
    expect(refusal.data?.level).toBe('principal');
    const retryAfterMs = refusal.data?.retryAfterMs as number;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(refusal.httpHeaders?.['Retry-After']).toBe(String(Math.ceil(retryAfterMs / 1000)));
    expect(ctx.state.rateLimit).toEqual({
      level: 'principal',
      refused: true,
      retryAfterMs,
      remainingPoints: 0,
    });
    // What the client receives: the stable code next to level and retryAfterMs.
    expect(toJsonRpcError(error)).toEqual({
      code: -32013,
      message: 'Rate limit exceeded',
      data: { code: 'ERR_RATE_LIMITED', level: 'principal', retryAfterMs },
    });
  });

  it('records the remaining budget of the tightest level on an allowed call', async () => {
    const limiter = rateLimit({
      limits: { principal: { points: 5, duration: 60 }, global: { points: 100, duration: 60 } },
    });
    const ctx = asAlice();
    await run([limiter], ctx);
    expect(ctx.state.rateLimit).toEqual({ level: 'principal', refused: false, remainingPoints: 4 });
  });

  it('charges the cost set for a tool, and the cost declared by policy over it', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 10, duration: 60 } }, costs: { report: 4 } });
    expect(await runMany([limiter], 3, () => asAlice('report'))).toEqual({ ok: 2, ERR_RATE_LIMITED: 1 });

    const byPolicy = rateLimit({ limits: { principal: { points: 10, duration: 60 } }, costs: { report: 1 } });
    const expensive = () => call('report', { principal: alice, policy: { rateLimit: { cost: 10 } } });
    expect(await runMany([byPolicy], 2, expensive)).toEqual({ ok: 1, ERR_RATE_LIMITED: 1 });

    const free = rateLimit({ limits: { principal: { points: 1, duration: 60 } }, costs: { ping: 0 } });
    expect(await runMany([free], 5, () => asAlice('ping'))).toEqual({ ok: 5 });
  });

  it('keeps separate budgets per principal and per principal+tool', async () => {
    const limiter = rateLimit({ limits: { principalTool: { points: 2, duration: 60 } } });
    expect(await runMany([limiter], 3, () => asAlice('a'))).toEqual({ ok: 2, ERR_RATE_LIMITED: 1 });
    expect(await runMany([limiter], 2, () => asAlice('b'))).toEqual({ ok: 2 });
    expect(await runMany([limiter], 2, () => call('a', { principal: principal('bob') }))).toEqual({ ok: 2 });
  });

  it('applies a per-tool budget declared by policy', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 100, duration: 60 } } });
    const policy = { rateLimit: { limit: { points: 1, duration: 60 } } };
    const outcomes = await runMany([limiter], 2, () => call('export', { principal: alice, policy }));
    expect(outcomes).toEqual({ ok: 1, ERR_RATE_LIMITED: 1 });
    expect(limiter.stats().refusals).toEqual({ principalTool: 1 });
    expect(await runMany([limiter], 3, () => asAlice('other'))).toEqual({ ok: 3 });
  });

  it('limits per tenant and globally', async () => {
    const limiter = rateLimit({
      limits: { tenant: { points: 2, duration: 60 }, global: { points: 3, duration: 60 } },
    });
    const inAcme = (s: string) => call('echo', { principal: principal(s, { tenant: 'acme' }) });
    expect(await run([limiter], inAcme('a'))).toBe('ok');
    expect(await run([limiter], inAcme('b'))).toBe('ok');
    const refusal = await rejection(limiter(inAcme('c'), async () => ({})));
    expect((refusal as HardenError).data?.level).toBe('tenant');
    expect(await run([limiter], call('echo', { principal: principal('d', { tenant: 'other' }) }))).toBe('ok');
    const global = await rejection(
      limiter(call('echo', { principal: principal('e', { tenant: 'third' }) }), async () => ({})),
    );
    expect((global as HardenError).data?.level).toBe('global');
  });

  it('limits per session when the transport has a session id, and skips the level otherwise', async () => {
    const limiter = rateLimit({ limits: { session: { points: 2, duration: 60 } } });
    const inSession = (id: string) => call('echo', { principal: alice, sessionId: id });
    expect(await runMany([limiter], 3, () => inSession('s1'))).toEqual({ ok: 2, ERR_RATE_LIMITED: 1 });
    expect(await runMany([limiter], 2, () => inSession('s2'))).toEqual({ ok: 2 });
    expect(await runMany([limiter], 4, () => asAlice())).toEqual({ ok: 4 });
  });

  it('does not spend the budgets of other levels on a refused call', async () => {
    const limiter = rateLimit({
      limits: { principal: { points: 3, duration: 60 }, global: { points: 6, duration: 60 } },
    });
    expect(await runMany([limiter], 5, () => asAlice())).toEqual({ ok: 3, ERR_RATE_LIMITED: 2 });
    // Alice's two refused calls gave their global points back: Bob still has 3.
    expect(await runMany([limiter], 3, () => call('echo', { principal: principal('bob') }))).toEqual({
      ok: 3,
    });
    const refusal = await rejection(
      limiter(call('echo', { principal: principal('carol') }), async () => ({})),
    );
    expect((refusal as HardenError).data?.level).toBe('global');
  });

  it('limits unauthenticated calls as one shared bucket, never unlimited', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 2, duration: 60 } } });
    expect(await runMany([limiter], 3, () => call('echo'))).toEqual({ ok: 2, ERR_RATE_LIMITED: 1 });
    // A principal literally named "anonymous" has its own budget.
    expect(await runMany([limiter], 2, () => call('echo', { principal: principal('anonymous') }))).toEqual({
      ok: 2,
    });
  });

  it('limits tools/call, prompts/get and resources/read by default and lists only when asked', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 1, duration: 60 } } });
    const list = () => createContext({ method: 'tools/list', principal: alice });
    expect(await runMany([limiter], 5, list)).toEqual({ ok: 5 });
    const prompt = () => createContext({ method: 'prompts/get', params: { name: 'p' }, principal: alice });
    expect(await runMany([limiter], 2, prompt)).toEqual({ ok: 1, ERR_RATE_LIMITED: 1 });
    const read = () =>
      createContext({ method: 'resources/read', params: { uri: 'notes://1' }, principal: principal('b') });
    expect(await runMany([limiter], 2, read)).toEqual({ ok: 1, ERR_RATE_LIMITED: 1 });

    const withLists = rateLimit({
      limits: { principal: { points: 1, duration: 60 } },
      methods: ['tools/list'],
    });
    expect(await runMany([withLists], 2, list)).toEqual({ ok: 1, ERR_RATE_LIMITED: 1 });
    expect(await runMany([withLists], 3, () => asAlice())).toEqual({ ok: 3 });
  });

  it('counts refusals per level for telemetry and reports each to onRefusal', async () => {
    const events: unknown[] = [];
    const limiter = rateLimit({
      limits: { principal: { points: 1, duration: 60 } },
      concurrency: { principal: 1 },
      onRefusal: (event) => {
        events.push(event);
        throw new Error('a broken metrics hook');
      },
    });
    await runMany([limiter], 3, () => asAlice());
    let unblock!: () => void;
    const gate = new Promise<McpResult>((r) => (unblock = () => r({})));
    const hanging = limiter(call('x', { principal: principal('bob') }), () => gate);
    expect(await run([limiter], call('x', { principal: principal('bob') }))).toBe('ERR_RATE_LIMITED');
    unblock();
    await hanging;
    expect(limiter.stats()).toMatchObject({
      refusals: { principal: 2, 'concurrency:principal': 1 },
      allowed: 2,
      inFlight: 0,
      storeErrors: 0,
    });
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({
      level: 'principal',
      method: 'tools/call',
      target: 'echo',
      subject: 'alice',
    });
  });

  it('refuses a target whose declared policy is invalid, without calling it', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 10, duration: 60 } } });
    let called = false;
    const ctx = call('t', { principal: alice, policy: { rateLimit: { cost: -1 } } });
    const error = await rejection(
      limiter(ctx, async () => {
        called = true;
        return {};
      }),
    );
    expect((error as HardenError).code).toBe('ERR_MIDDLEWARE');
    expect(called).toBe(false);
  });

  it('refuses calls with ERR_UNAVAILABLE once closed', async () => {
    const limiter = rateLimit({ limits: { principal: { points: 10, duration: 60 } } });
    await limiter.close?.();
    expect(await run([limiter], asAlice())).toBe('ERR_UNAVAILABLE');
  });
});

describe('keys', () => {
  const budget = () =>
    rateLimit({
      limits: { principal: { points: 2, duration: 60 }, principalTool: { points: 2, duration: 60 } },
    });

  it('a principal named like another principal key cannot consume that budget', async () => {
    const limiter = budget();
    const impostors = [
      'principal:alice',
      '["principal",null,"alice"]',
      'alice"',
      'alice","',
      '"alice',
      'alice\u0000',
      'ALICE',
      ' alice',
      '["anonymous"]',
    ];
    for (const subject of impostors) {
      const outcomes = await runMany([limiter], 3, () => call('echo', { principal: principal(subject) }));
      expect(outcomes, subject).toEqual({ ok: 2, ERR_RATE_LIMITED: 1 });
    }
    // Same subject, other tenants: separate budgets, also when the tenant looks like a key part.
    for (const tenant of ['acme', 'null', '', '["principal",null']) {
      const outcomes = await runMany([limiter], 3, () =>
        call('echo', { principal: principal('alice', { tenant }) }),
      );
      expect(outcomes, tenant).toEqual({ ok: 2, ERR_RATE_LIMITED: 1 });
    }
    expect(await runMany([limiter], 2, () => asAlice())).toEqual({ ok: 2 });
  });

  it('principal and tool components cannot be shifted into each other', async () => {
    const limiter = rateLimit({ limits: { principalTool: { points: 1, duration: 60 } } });
    expect(await run([limiter], call('b:c', { principal: principal('a') }))).toBe('ok');
    expect(await run([limiter], call('c', { principal: principal('a:b') }))).toBe('ok');
    expect(await run([limiter], call('c', { principal: principal('a","b') }))).toBe('ok');
    expect(await run([limiter], call('b","c', { principal: principal('a') }))).toBe('ok');
  });

  it('session ids cannot consume a principal budget, nor the other way round', async () => {
    const limiter = rateLimit({
      limits: { principal: { points: 1, duration: 60 }, session: { points: 1, duration: 60 } },
    });
    // Bob's session id is Alice's principal key text; Carol's subject is Bob's session key text.
    expect(
      await run(
        [limiter],
        call('e', { principal: principal('bob'), sessionId: '["principal",null,"alice"]' }),
      ),
    ).toBe('ok');
    expect(await run([limiter], call('e', { principal: principal('["s1"]'), sessionId: 's2' }))).toBe('ok');
    expect(await run([limiter], call('e', { principal: alice, sessionId: 's1' }))).toBe('ok');
  });

  it('long components are digested without merging distinct principals', async () => {
    const limiter = budget();
    const long = 'x'.repeat(500);
    expect(await runMany([limiter], 3, () => call('echo', { principal: principal(`${long}1`) }))).toEqual({
      ok: 2,
      ERR_RATE_LIMITED: 1,
    });
    expect(await runMany([limiter], 2, () => call('echo', { principal: principal(`${long}2`) }))).toEqual({
      ok: 2,
    });
  });
});

describe('concurrency caps', () => {
  const hang = () => {
    let finish!: (r: McpResult) => void;
    let fail!: (e: unknown) => void;
    const promise = new Promise<McpResult>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    return { next: () => promise, finish, fail };
  };

  it('releases the slot on completion, error, timeout and abort', async () => {
    const limiter = rateLimit({ concurrency: { principal: 1 } });
    const endings: Array<(h: ReturnType<typeof hang>, abort: AbortController) => void> = [
      (h) => h.finish({}),
      (h) => h.fail(new Error('tool crashed')),
      (h) => h.fail(new HardenError('ERR_TIMEOUT')),
      (_h, abort) => abort.abort(new HardenError('ERR_CANCELLED')), // the handler never settles
    ];
    for (const end of endings) {
      const h = hang();
      const abort = new AbortController();
      const running = limiter(call('t', { principal: alice, signal: abort.signal }), h.next).catch(() => {});
      expect(await run([limiter], asAlice())).toBe('ERR_RATE_LIMITED');
      end(h, abort);
      await expect.poll(() => limiter.stats().inFlight).toBe(0);
      expect(await run([limiter], asAlice())).toBe('ok');
      if (!abort.signal.aborted) await running;
    }
  });

  it('leaves no abort listener on the request signal, with or without a cap', async () => {
    const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;
    const cases = [
      // No cap: no slot to free early, so nothing is attached to the signal.
      { limiter: rateLimit({ limits: { principal: { points: 100, duration: 60 } } }), whileRunning: 0 },
      // A cap: the slot is tied to the signal while the call runs.
      { limiter: rateLimit({ concurrency: { principal: 1 } }), whileRunning: 1 },
    ];
    for (const { limiter, whileRunning } of cases) {
      const abort = new AbortController();
      let during = -1;
      const outcome = await run(
        [limiter],
        call('t', { principal: alice, signal: abort.signal }),
        async () => {
          during = listeners(abort.signal);
          return {};
        },
      );
      expect(outcome).toBe('ok');
      expect(during).toBe(whileRunning);
      expect(listeners(abort.signal)).toBe(0);
      expect(limiter.stats().inFlight).toBe(0);
    }
  });

  it('caps per tool by option and by policy, and globally', async () => {
    const limiter = rateLimit({ concurrency: { tool: 2, global: 3 } });
    const h = hang();
    const started = [
      limiter(call('a', { principal: alice }), h.next),
      limiter(call('a', { principal: principal('bob') }), h.next),
    ];
    const third = await rejection(limiter(call('a', { principal: principal('carol') }), h.next));
    expect((third as HardenError).data).toEqual({ level: 'concurrency:tool', retryAfterMs: 1000 });
    started.push(limiter(call('b', { principal: alice }), h.next));
    const fourth = await rejection(limiter(call('c', { principal: alice }), h.next));
    expect((fourth as HardenError).data?.level).toBe('concurrency:global');
    h.finish({});
    await Promise.all(started);

    const byPolicy = rateLimit({ concurrency: { tool: 5 } });
    const h2 = hang();
    const policy = { rateLimit: { concurrency: 1 } };
    const first = byPolicy(call('heavy', { principal: alice, policy }), h2.next);
    expect(await run([byPolicy], call('heavy', { principal: principal('bob'), policy }))).toBe(
      'ERR_RATE_LIMITED',
    );
    h2.finish({});
    await first;
  });
});

describe('configuration', () => {
  const bad: Array<[string, unknown]> = [
    ['no limits at all', {}],
    ['zero points', { limits: { principal: { points: 0, duration: 60 } } }],
    ['fractional duration', { limits: { principal: { points: 1, duration: 0.5 } } }],
    ['unknown level', { limits: { user: { points: 1, duration: 60 } } }],
    ['negative concurrency', { concurrency: { principal: -1 } }],
    ['unknown concurrency level', { concurrency: { tenant: 1 } }],
    ['negative cost', { limits: { global: { points: 1, duration: 1 } }, costs: { a: -2 } }],
    ['fractional cost', { limits: { global: { points: 1, duration: 1 } }, defaultCost: 1.5 }],
    ['unknown method', { limits: { global: { points: 1, duration: 1 } }, methods: ['tools/delete'] }],
    ['bad store mode', { limits: { global: { points: 1, duration: 1 } }, onStoreError: 'ignore' }],
    ['redis without a client', { limits: { global: { points: 1, duration: 1 } }, redis: { client: {} } }],
    [
      'zero replicas',
      {
        limits: { global: { points: 1, duration: 1 } },
        redis: { client: { ping: async () => 'PONG' }, replicas: 0 },
      },
    ],
    ['non-function hook', { limits: { global: { points: 1, duration: 1 } }, onRefusal: 'log' }],
  ];
  it.each(bad)('throws a TypeError at construction for %s', (_name, options) => {
    expect(() => rateLimit(options as never)).toThrow(TypeError);
  });

  it('is a named middleware without health checks on the memory store', () => {
    const limiter: Middleware = rateLimit({ limits: { global: { points: 1, duration: 1 } } });
    expect(limiter.middlewareName).toBe('rate-limit');
    expect(limiter.healthChecks).toEqual([]);
  });
});
