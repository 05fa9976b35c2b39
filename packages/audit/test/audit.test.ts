import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compose,
  createContext,
  defineMiddleware,
  HardenError,
  JsonRpcError,
  type Principal,
} from '@mcp-harden/core';
import { Ajv } from 'ajv';
import { afterEach, describe, expect, it } from 'vitest';
import schema from '../schema/audit-event.v1.json' with { type: 'json' };
import { type AuditEvent, argumentsDigest, audit, canonicalJson, redactArguments } from '../src/index.js';
import { GatedSink, MemorySink, tempDir } from './helpers.js';

/** Request ids still waiting in a sink's spill files (spill and replay), torn lines skipped. */
function pending(dir: string, sink: string): (string | number | null)[] {
  return [`${sink}.replay.jsonl`, `${sink}.spill.jsonl`]
    .filter((f) => existsSync(join(dir, f)))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .flatMap((l) => {
      try {
        return [(JSON.parse(l) as AuditEvent).requestId];
      } catch {
        return [];
      }
    })
    .sort((a, b) => Number(a) - Number(b));
}

const principal: Principal = {
  subject: 'user-1',
  clientId: 'client-a',
  scopes: ['notes:read'],
  roles: ['reader'],
  tenant: 't1',
  authMethod: 'jwt',
  claims: { sub: 'user-1', email: 'ann@example.com', raw: 'CLAIM-SECRET' },
};

const fakeAuth = defineMiddleware('auth', async function auth(ctx, next) {
  if (ctx.target === 'anon') throw new HardenError('ERR_UNAUTHENTICATED', 'No credentials');
  ctx.principal = principal;
  return next();
});

const fakeRbac = defineMiddleware('rbac', async function rbac(ctx, next) {
  const state = ctx.state as Record<string, unknown>;
  const allowed = ctx.target !== 'admin';
  state.authorization = { allowed, rule: allowed ? 'tool:*' : 'deny-admin', requiredScopes: ['admin'] };
  if (!allowed) throw new HardenError('ERR_FORBIDDEN');
  state.rateLimit = { level: 'principal', refused: false, remainingPoints: 9 };
  state.redactions = { email: 2, bogus: 'x' };
  state.trace = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) };
  state.deprecation = { tool: 'old', version: '1', sunset: '2027-01-01' };
  state.injection = { flagged: true, patterns: ['ignore-previous'] };
  return next();
});

const terminal = (ctx: { target: string | undefined }) => async () => {
  if (ctx.target === 'boom') throw new Error('database password is hunter2');
  if (ctx.target === 'invalid') throw new JsonRpcError(-32602, 'bad');
  if (ctx.target === 'failing') return { content: [{ type: 'text', text: 'nope' }], isError: true };
  return { content: [{ type: 'text', text: 'ok' }] };
};

describe('audit()', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  function setup(options: Partial<Parameters<typeof audit>[0]> = {}) {
    const tmp = tempDir('mw');
    const sink = new MemorySink();
    const trail = audit({ sinks: [sink], spillDir: join(tmp.dir, 'spill'), ...options });
    cleanups.push(async () => {
      await trail.close();
      tmp.remove();
    });
    const chain = compose([trail, fakeAuth, fakeRbac]);
    const call = async (
      target: string,
      args: Record<string, unknown> = {},
      requestId: string | number = 1,
    ) => {
      const ctx = createContext({
        method: 'tools/call',
        params: { name: target, arguments: args },
        requestId,
        sessionId: 's-1',
        request: { transport: 'http', headers: { authorization: 'Bearer TOKEN-SECRET-123' } },
      });
      try {
        return { ctx, result: await chain(ctx, terminal(ctx)) };
      } catch (error) {
        return { ctx, error };
      }
    };
    return { tmp, sink, trail, call };
  }

  it('records one event per request with decision, outcome, principal and state', async () => {
    const { sink, trail, call } = setup();
    const ok = await call('notes', { b: 2, a: [1, 'x'] }, 'r-1');
    await call('anon');
    await call('admin');
    await call('failing');
    await call('boom');
    await call('invalid');
    await trail.flush();
    expect(sink.events).toHaveLength(6);
    const [okEvent, anon, admin, failing, boom, invalid] = sink.events as AuditEvent[];
    expect(okEvent).toMatchObject({
      schemaVersion: 1,
      method: 'tools/call',
      target: 'notes',
      targetKind: 'tool',
      principal: { subject: 'user-1', clientId: 'client-a', tenant: 't1', authMethod: 'jwt' },
      decision: { result: 'allowed', by: null, code: null },
      outcome: { status: 'ok', code: null },
      argumentsDigest: argumentsDigest({ a: [1, 'x'], b: 2 }),
      sessionId: 's-1',
      requestId: 'r-1',
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      transport: 'http',
      redactions: { email: 2 },
      rateLimit: { level: 'principal', refused: false, remainingPoints: 9 },
      authorization: { allowed: true, rule: 'tool:*', requiredScopes: ['admin'] },
      deprecation: { tool: 'old', version: '1', sunset: '2027-01-01' },
      injection: { flagged: true, patterns: ['ignore-previous'] },
    });
    expect(okEvent!.id).toBe(ok.ctx.state.audit?.eventId);
    expect(okEvent!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(okEvent!.time)).not.toBeNaN();
    expect(anon).toMatchObject({
      principal: null,
      decision: { result: 'denied', by: 'auth', code: 'ERR_UNAUTHENTICATED' },
      outcome: { status: 'error', code: 'ERR_UNAUTHENTICATED' },
    });
    expect(admin).toMatchObject({
      decision: { result: 'denied', by: 'rbac', code: 'ERR_FORBIDDEN' },
      authorization: { allowed: false, rule: 'deny-admin' },
    });
    expect(failing!.outcome).toEqual({ status: 'tool_error', code: null });
    expect(boom).toMatchObject({
      decision: { result: 'allowed' },
      outcome: { status: 'error', code: 'ERR_INTERNAL' },
    });
    expect(invalid!.outcome).toEqual({ status: 'error', code: 'JSONRPC_-32602' });
    expect(new Set(sink.events.map((e) => e.id)).size).toBe(6);
  });

  it('caps client-chosen strings so one request cannot bloat the trail', async () => {
    const { sink, trail, call } = setup();
    await call('t'.repeat(5_000), {}, 'r'.repeat(3_000));
    await trail.flush();
    expect(sink.events[0]!.target).toBe(`${'t'.repeat(1024)}…[truncated 3976]`);
    expect(sink.events[0]!.requestId).toBe(`${'r'.repeat(1024)}…[truncated 1976]`);
  });

  it('passes results and errors through unchanged', async () => {
    const { call } = setup();
    const ok = await call('notes');
    expect(ok.result).toEqual({ content: [{ type: 'text', text: 'ok' }] });
    const denied = await call('admin');
    expect(denied.error).toBeInstanceOf(HardenError);
    expect((denied.error as HardenError).source).toBe('rbac');
    const boom = await call('boom');
    expect((boom.error as Error).message).toContain('hunter2');
  });

  it('produces events that validate against schema/audit-event.v1.json', async () => {
    const { sink, trail, call } = setup({ includeArguments: 'redacted', argumentsDigestKey: 'k'.repeat(16) });
    for (const target of ['notes', 'anon', 'admin', 'failing', 'boom', 'invalid'])
      await call(target, { q: 'x' });
    const list = compose([trail]);
    await list(createContext({ method: 'tools/list' }), async () => ({ tools: [] }));
    await list(createContext({ method: 'resources/read', params: { uri: 'notes://1' } }), async () => ({
      contents: [],
    }));
    trail.onEarlyRefusal?.({
      error: new HardenError('ERR_UNAUTHENTICATED'),
      source: 'http',
      method: undefined,
      requestId: undefined,
      sessionId: undefined,
      request: { transport: 'http', headers: { authorization: 'Bearer leaked-token' } },
    });
    await trail.flush();
    const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
    expect(sink.events).toHaveLength(9);
    for (const event of sink.events) {
      const valid = validate(event);
      expect(validate.errors ?? [], JSON.stringify(event)).toEqual([]);
      expect(valid).toBe(true);
    }
    // The schema is strict: an unexpected member or a raw token is rejected.
    expect(validate({ ...sink.events[0], authorization_header: 'Bearer x' })).toBe(false);
  });

  it('records a request refused before the chain ran (HTTP edge, adapter params check)', async () => {
    const { sink, trail } = setup();
    trail.onEarlyRefusal?.({
      error: new HardenError('ERR_UNAUTHENTICATED'),
      source: 'http',
      method: undefined,
      requestId: undefined,
      sessionId: 's-1',
      request: { transport: 'http', headers: { authorization: 'Bearer leaked-token' } },
    });
    trail.onEarlyRefusal?.({
      error: new HardenError('ERR_INVALID_ARGUMENTS', 'arguments must be an object'),
      source: 'sdk',
      method: 'tools/call',
      requestId: 7,
      sessionId: undefined,
      request: { transport: 'memory' },
    });
    await trail.flush();
    expect(sink.events.map((e) => [e.method, e.requestId, e.decision, e.outcome])).toEqual([
      [
        'unknown',
        null,
        { result: 'denied', by: 'http', code: 'ERR_UNAUTHENTICATED' },
        { status: 'error', code: 'ERR_UNAUTHENTICATED' },
      ],
      [
        'tools/call',
        7,
        { result: 'denied', by: 'sdk', code: 'ERR_INVALID_ARGUMENTS' },
        { status: 'error', code: 'ERR_INVALID_ARGUMENTS' },
      ],
    ]);
    expect(JSON.stringify(sink.events)).not.toContain('leaked-token');
  });

  it('records neither credentials nor raw argument values by default', async () => {
    const { sink, trail, call } = setup();
    await call('notes', { user: 'ann', password: 'PW-hunter2-SECRET', note: 'VALUE-XYZZY' });
    await call('boom', { password: 'PW-hunter2-SECRET' });
    await trail.flush();
    const text = JSON.stringify(sink.events);
    expect(sink.events).toHaveLength(2);
    for (const secret of [
      'TOKEN-SECRET-123',
      'PW-hunter2-SECRET',
      'VALUE-XYZZY',
      'CLAIM-SECRET',
      'hunter2',
      'ann@example.com',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(sink.events[0]!.arguments).toBeUndefined();
  });

  it('records redacted arguments only when opted in, globally or per target', async () => {
    const { sink, trail, call } = setup({ includeArguments: 'redacted' });
    await call('notes', { user: 'ann', password: 'PW', nested: { apiKey: 'k', list: ['Bearer abc.def'] } });
    await trail.flush();
    expect(sink.events[0]!.arguments).toEqual({
      user: 'ann',
      password: '[REDACTED]',
      nested: { apiKey: '[REDACTED]', list: ['[REDACTED]'] },
    });
    const tmp = tempDir('policy');
    const other = new MemorySink();
    const perTool = audit({ sinks: [other], spillDir: tmp.dir });
    const ctx = createContext({
      method: 'tools/call',
      params: { name: 'x', arguments: { q: 1, token: 't' } },
      policy: { audit: { includeArguments: 'redacted' } },
    });
    await compose([perTool])(ctx, async () => ({ content: [] }));
    await perTool.close();
    tmp.remove();
    expect(other.events[0]!.arguments).toEqual({ q: 1, token: '[REDACTED]' });
    expect(redactArguments('eyJhbGciOi.eyJzdWIi.sig')).toBe('[REDACTED]');
  });

  it('digests arguments canonically (key order does not matter)', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[true,null]},"b":1}',
    );
    expect(argumentsDigest({ x: 1, y: 2 })).toBe(argumentsDigest({ y: 2, x: 1 }));
    expect(argumentsDigest({ x: 1 })).not.toBe(argumentsDigest({ x: 2 }));
    expect(argumentsDigest({})).toMatch(/^sha256:[0-9a-f]{64}$/);
    const key = 'k'.repeat(32);
    expect(argumentsDigest({ pin: '1234' }, key)).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(argumentsDigest({ pin: '1234' }, key)).not.toBe(argumentsDigest({ pin: '1234' }, 'x'.repeat(32)));
  });

  it('digests are stable SHA-256 over the UTF-8 canonical text (lone surrogates as U+FFFD)', () => {
    // Fixed vectors: a digest recorded by any earlier version must still verify.
    expect(argumentsDigest({})).toBe(
      'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
    for (const args of [{ q: 'é \u{1F600}' }, { q: '\ud800 lone' }, { q: 'x'.repeat(10_000) }]) {
      const text = canonicalJson(args);
      expect(argumentsDigest(args)).toBe(`sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`);
    }
  });

  it('uses a keyed digest when argumentsDigestKey is set', async () => {
    const key = 'audit-digest-key-0123456789abcdef';
    const { sink, trail, call } = setup({ argumentsDigestKey: key });
    await call('notes', { pin: '1234' });
    await trail.flush();
    expect(sink.events[0]!.argumentsDigest).toBe(argumentsDigest({ pin: '1234' }, key));
    expect(() =>
      audit({ sinks: [new MemorySink()], spillDir: '/tmp/x', argumentsDigestKey: 'short' }),
    ).toThrow(TypeError);
  });

  it('never fails or delays a call when the sink is down, and spills instead', async () => {
    const tmp = tempDir('down');
    const sink = new MemorySink('flaky');
    const errors: unknown[] = [];
    const trail = audit({
      sinks: [sink],
      spillDir: tmp.dir,
      retry: { attempts: 2, baseDelayMs: 1 },
      replayIntervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    cleanups.push(tmp.remove);
    sink.down = true;
    const chain = compose([trail]);
    for (let i = 0; i < 5; i++) {
      const result = await chain(createContext({ method: 'tools/list', requestId: i }), async () => ({
        tools: [],
      }));
      expect(result).toEqual({ tools: [] });
    }
    await trail.flush();
    expect(trail.stats()[0]).toMatchObject({ delivered: 0, spilled: 5, degraded: true });
    await expect(trail.healthChecks[0]!.check(AbortSignal.timeout(1000))).rejects.toThrow(/flaky is down/);
    expect(errors.length).toBeGreaterThan(0);
    expect(pending(tmp.dir, 'flaky')).toEqual([0, 1, 2, 3, 4]);
    sink.down = false;
    await trail.flush();
    expect(sink.events.map((e) => e.requestId)).toEqual([0, 1, 2, 3, 4]);
    expect(trail.stats()[0]).toMatchObject({ delivered: 5, replayed: 5, degraded: false });
    expect(existsSync(join(tmp.dir, 'flaky.spill.jsonl'))).toBe(false);
    expect(existsSync(join(tmp.dir, 'flaky.replay.jsonl'))).toBe(false);
    await expect(trail.healthChecks[0]!.check(AbortSignal.timeout(1000))).resolves.toBeUndefined();
    await trail.close();
  });

  it('holds at most maxQueue events in memory and spills the overflow, losing none', async () => {
    const tmp = tempDir('queue');
    cleanups.push(tmp.remove);
    const sink = new GatedSink();
    const trail = audit({ sinks: [sink], spillDir: tmp.dir, maxQueue: 5, batchSize: 2 });
    const chain = compose([trail]);
    for (let i = 0; i < 50; i++) {
      await chain(createContext({ method: 'tools/list', requestId: i }), async () => ({ tools: [] }));
    }
    const stats = trail.stats()[0]!;
    expect(stats.queued).toBeLessThanOrEqual(5);
    expect(stats.spilled).toBeGreaterThanOrEqual(50 - 5 - 2);
    sink.release();
    await trail.close();
    const ids = sink.events.map((e) => e.requestId);
    expect(ids).toHaveLength(50);
    expect(new Set(ids).size).toBe(50);
  });

  it('spills an overflow burst in order without blocking, then delivers every event exactly once', async () => {
    const tmp = tempDir('burst');
    cleanups.push(tmp.remove);
    const sink = new GatedSink();
    const trail = audit({ sinks: [sink], spillDir: tmp.dir, maxQueue: 5, batchSize: 2 });
    const chain = compose([trail]);
    for (let i = 0; i < 300; i++) {
      await chain(createContext({ method: 'tools/list', requestId: i }), async () => ({ tools: [] }));
      // Recording never waits for the disk, even while spilling.
      if (i % 50 === 49) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const spilled = trail.stats()[0]!.spilled;
    expect(spilled).toBeGreaterThanOrEqual(300 - 5 - 2);
    await expect.poll(() => pending(tmp.dir, 'gated').length).toBe(spilled);
    const onDisk = pending(tmp.dir, 'gated') as number[];
    expect(onDisk).toEqual([...onDisk].sort((x, y) => x - y));
    sink.release();
    await trail.close();
    const ids = sink.events.map((e) => e.requestId as number);
    expect(ids).toHaveLength(300);
    expect(new Set(ids).size).toBe(300);
    expect(existsSync(join(tmp.dir, 'gated.spill.jsonl'))).toBe(false);
    expect(existsSync(join(tmp.dir, 'gated.replay.jsonl'))).toBe(false);
  });

  it('leaves undeliverable events in the spill file on close, and the next process replays them', async () => {
    const tmp = tempDir('restart');
    cleanups.push(tmp.remove);
    const first = new MemorySink('pg');
    first.down = true;
    const a = audit({ sinks: [first], spillDir: tmp.dir, retry: { attempts: 1 }, onError: () => {} });
    const chain = compose([a]);
    for (let i = 0; i < 3; i++)
      await chain(createContext({ method: 'tools/list', requestId: i }), async () => ({ tools: [] }));
    await a.close();
    // Recorded after close: straight to the spill file.
    await chain(createContext({ method: 'tools/list', requestId: 3 }), async () => ({ tools: [] }));
    expect(pending(tmp.dir, 'pg')).toEqual([0, 1, 2, 3]);
    const second = new MemorySink('pg');
    const b = audit({ sinks: [second], spillDir: tmp.dir });
    await b.flush();
    expect(second.events.map((e) => e.requestId)).toEqual([0, 1, 2, 3]);
    await b.close();
    expect(existsSync(join(tmp.dir, 'pg.spill.jsonl'))).toBe(false);
    expect(existsSync(join(tmp.dir, 'pg.replay.jsonl'))).toBe(false);
  });

  it('keeps what a failed replay did not deliver, without duplicates, and sets torn lines aside', async () => {
    const tmp = tempDir('partial');
    cleanups.push(tmp.remove);
    const sink = new MemorySink('flaky');
    sink.down = true;
    const trail = audit({
      sinks: [sink],
      spillDir: tmp.dir,
      batchSize: 3,
      retry: { attempts: 1 },
      replayIntervalMs: 60_000,
      onError: () => {},
    });
    const chain = compose([trail]);
    for (let i = 0; i < 10; i++)
      await chain(createContext({ method: 'tools/list', requestId: i }), async () => ({ tools: [] }));
    await trail.flush();
    appendFileSync(join(tmp.dir, 'flaky.spill.jsonl'), '{"torn\n');
    sink.down = false;
    sink.allowWrites = 2;
    await trail.flush();
    expect(sink.events.map((e) => e.requestId)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(pending(tmp.dir, 'flaky')).toEqual([6, 7, 8, 9]);
    sink.down = false;
    sink.allowWrites = undefined;
    await trail.close();
    expect(sink.events.map((e) => e.requestId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(readFileSync(join(tmp.dir, 'flaky.rejected.jsonl'), 'utf8')).toContain('{"torn');
    expect(existsSync(join(tmp.dir, 'flaky.replay.jsonl'))).toBe(false);
  });

  it('throws TypeError on misconfiguration', () => {
    const sink = new MemorySink();
    expect(() => audit(undefined as never)).toThrow(TypeError);
    expect(() => audit({ sinks: [], spillDir: '/tmp/x' })).toThrow(/sinks/);
    expect(() => audit({ sinks: [sink] } as never)).toThrow(/spillDir/);
    expect(() => audit({ sinks: [sink, new MemorySink()], spillDir: '/tmp/x' })).toThrow(/two sinks/);
    expect(() => audit({ sinks: [new MemorySink('../etc')], spillDir: '/tmp/x' })).toThrow(/name/);
    expect(() => audit({ sinks: [sink], spillDir: '/tmp/x', maxQueue: 0 })).toThrow(/maxQueue/);
    expect(() => audit({ sinks: [sink], spillDir: '/tmp/x', includeArguments: 'raw' as never })).toThrow(
      /includeArguments/,
    );
  });
});
