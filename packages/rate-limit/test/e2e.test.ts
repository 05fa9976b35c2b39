import type { HardenedSendOptions } from '@mcp-harden/sdk';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimit } from '../src/index.js';
import {
  authenticateAs,
  buildServer,
  type Connected,
  connectHttp,
  connectInMemory,
  type HttpHost,
  hostHttp,
  newSlowProbe,
  outcome,
  tally,
} from './fixture.js';
import { principal } from './helpers.js';

const alice = authenticateAs(principal('alice'));

describe('rateLimit() end to end with the official SDK client', () => {
  const open: Array<Connected | HttpHost> = [];
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close().catch(() => {});
  });

  it('with a cap of 2, runs at most 2 of 10 parallel slow calls; cancelled calls free their slot', async () => {
    const probe = newSlowProbe();
    const limiter = rateLimit({ concurrency: { principal: 2 } });
    const connected = await connectInMemory(buildServer([alice, limiter], probe));
    open.push(connected);
    const { client } = connected;

    const controllers = Array.from({ length: 10 }, () => new AbortController());
    const results: Array<string | undefined> = Array(10).fill(undefined);
    const calls = controllers.map((c, i) =>
      outcome(client.callTool({ name: 'slow', arguments: {} }, undefined, { signal: c.signal })).then((o) => {
        results[i] = o;
        return o;
      }),
    );
    await expect.poll(() => results.filter((r) => r === 'ERR_RATE_LIMITED').length).toBe(8);
    await expect.poll(() => probe.running).toBe(2);
    expect(probe.maxRunning).toBe(2);
    expect(limiter.stats().refusals).toEqual({ 'concurrency:principal': 8 });
    expect(limiter.stats().inFlight).toBe(2);

    // Cancel the two running calls: their slots come back.
    const running = results.flatMap((r, i) => (r === undefined ? [i] : []));
    expect(running).toHaveLength(2);
    for (const i of running) controllers[i]!.abort('user gave up');
    await Promise.all(running.map((i) => calls[i]));
    await expect.poll(() => limiter.stats().inFlight).toBe(0);
    await expect.poll(() => probe.aborted).toBe(2);

    // Two new calls run, a third is refused, and both finish once released.
    const next = [0, 1].map(() => client.callTool({ name: 'slow', arguments: {} }));
    await expect.poll(() => probe.running).toBe(2);
    expect(await outcome(client.callTool({ name: 'slow', arguments: {} }))).toBe('ERR_RATE_LIMITED');
    probe.open();
    const finished = await Promise.all(next);
    expect(finished.map((r) => r.content)).toEqual([
      [{ type: 'text', text: 'done' }],
      [{ type: 'text', text: 'done' }],
    ]);
    expect(probe.maxRunning).toBe(2);
    expect(limiter.stats().inFlight).toBe(0);
  });

  it('sends ERR_RATE_LIMITED with level and retryAfterMs, and hands the host 429 with Retry-After', async () => {
    const refusals: HardenedSendOptions['refusal'][] = [];
    // Records what the sdk adapter passes to the transport, as an HTTP host would see it.
    const recording = (inner: Transport): Transport =>
      new Proxy(inner, {
        get(target, prop, receiver) {
          if (prop === 'send') {
            return (message: JSONRPCMessage, options?: TransportSendOptions) => {
              const refusal = (options as HardenedSendOptions | undefined)?.refusal;
              if (refusal) refusals.push(refusal);
              return target.send(message, options);
            };
          }
          const value = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
        set(target, prop, value) {
          return Reflect.set(target, prop, value);
        },
      });
    const limiter = rateLimit({ limits: { principal: { points: 2, duration: 60 } } });
    const connected = await connectInMemory(buildServer([alice, limiter]), recording);
    open.push(connected);
    const { client } = connected;
    await client.callTool({ name: 'echo', arguments: {} });
    await client.callTool({ name: 'echo', arguments: {} });
    const error = await client.callTool({ name: 'echo', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32013);
    const data = (error as McpError).data as { code: string; level: string; retryAfterMs: number };
    expect(data.code).toBe('ERR_RATE_LIMITED');
    expect(data.level).toBe('principal');
    expect(data.retryAfterMs).toBeGreaterThan(0);
    expect(data.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]?.status).toBe(429);
    expect(refusals[0]?.headers).toEqual({ 'Retry-After': String(Math.ceil(data.retryAfterMs / 1000)) });
    // Lists are not limited by default.
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['echo', 'slow']);
  });

  it('keys the session level on the Streamable HTTP session id', async () => {
    const limiter = rateLimit({ limits: { session: { points: 2, duration: 60 } } });
    const host = await hostHttp(() => buildServer([alice, limiter]));
    open.push(host);
    const first = await connectHttp(host);
    const second = await connectHttp(host);
    open.push(first, second);
    const callThrice = async (c: Connected) => {
      const outcomes: string[] = [];
      for (let i = 0; i < 3; i++)
        outcomes.push(await outcome(c.client.callTool({ name: 'echo', arguments: {} })));
      return tally(outcomes);
    };
    expect(await callThrice(first)).toEqual({ ok: 2, ERR_RATE_LIMITED: 1 });
    expect(await callThrice(second)).toEqual({ ok: 2, ERR_RATE_LIMITED: 1 });
    expect(limiter.stats().refusals).toEqual({ session: 2 });
  });
});
