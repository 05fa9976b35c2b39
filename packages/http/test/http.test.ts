import { request } from 'node:http';
import { defineMiddleware, type EarlyRefusal, isHardenError, type Principal } from '@mcp-harden/core';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { type ServedMcp, serve, timeout } from '../src/index.js';
import { buildServer, connect, newProbe, refusals } from './fixture.js';

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

async function post(url: URL, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** node:http, because fetch will not send a chosen Host header. */
function rawPost(
  url: URL,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const alice: Principal = { subject: 'alice', clientId: 'app', scopes: ['notes:read'], roles: [], claims: {} };

describe('serve()', () => {
  const running: ServedMcp[] = [];
  const clients: Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => {});
    for (const s of running.splice(0)) await s.close({ deadlineMs: 1000 });
  });

  async function start(options: Partial<Parameters<typeof serve>[0]> & { mode: 'stateless' | 'stateful' }) {
    const served = await serve({ createServer: () => buildServer([refusals]), ...options });
    running.push(served);
    return served;
  }

  describe.each(['stateless', 'stateful'] as const)('%s mode', (mode) => {
    it('serves the official SDK client over real HTTP', async () => {
      const served = await start({ mode });
      const client = await connect(served.url);
      clients.push(client);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('echo');
      const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
      expect(result.content).toEqual([{ type: 'text', text: 'hi' }]);
      expect(await client.callTool({ name: 'echo', arguments: { text: 'again' } })).toMatchObject({
        content: [{ type: 'text', text: 'again' }],
      });
    });

    it('reports an edge refusal to the middleware, which never sees the request', async () => {
      const seen: EarlyRefusal[] = [];
      const observer = defineMiddleware('observer', async (_ctx, next) => next(), {
        onEarlyRefusal: (refusal) => void seen.push(refusal),
      });
      const served = await start({
        mode,
        createServer: () => buildServer([observer, refusals]),
        authenticate: async () => undefined,
      });
      expect((await post(served.url, INIT, { authorization: 'Bearer nope' })).status).toBe(401);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ source: 'http', error: { code: 'ERR_UNAUTHENTICATED' } });
      expect(seen[0]!.request.remoteAddress).toMatch(/127\.0\.0\.1$/);
    });

    it('passes the edge principal to the pipeline and the handler as authInfo', async () => {
      const served = await start({
        mode,
        authenticate: async (req) => (req.headers.authorization === 'Bearer good' ? alice : undefined),
        resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
      });
      const refused = await post(served.url, INIT);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe(
        'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"',
      );
      expect((await refused.json()).error.data.code).toBe('ERR_UNAUTHENTICATED');
      const client = await connect(served.url, { authorization: 'Bearer good' });
      clients.push(client);
      const result = await client.callTool({ name: 'echo', arguments: { text: 'x' } });
      expect(result.structuredContent).toMatchObject({ principal: 'alice' });
    });

    it('refuses a bad Host header with 403 before reading the request', async () => {
      const served = await start({ mode });
      const res = await rawPost(served.url, INIT, { host: 'evil.example.com' });
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).error.data.code).toBe('ERR_FORBIDDEN');
      const rebound = await rawPost(new URL('/health', served.url), INIT, {
        host: `rebind.example.com:${served.port}`,
      });
      expect(rebound.status).toBe(403);
      const origin = await post(served.url, INIT, { origin: 'https://evil.example.com' });
      expect(origin.status).toBe(403);
    });

    it('refuses an oversized body with 413 ERR_PAYLOAD_TOO_LARGE', async () => {
      const served = await start({ mode, maxBodyBytes: 1024 });
      const big = { ...INIT, params: { ...INIT.params, pad: 'x'.repeat(4096) } };
      const res = await post(served.url, big);
      expect(res.status).toBe(413);
      expect((await res.json()).error.data.code).toBe('ERR_PAYLOAD_TOO_LARGE');
    });

    it('answers malformed JSON with a parse error, not a crash', async () => {
      const served = await start({ mode });
      const res = await post(served.url, '{"jsonrpc": ');
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe(-32700);
      const wrongType = await fetch(served.url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'x',
      });
      expect(wrongType.status).toBe(415);
    });

    it('aborts the handler of a timed-out call through the SDK cancellation path', async () => {
      const probe = newProbe();
      const served = await serve({
        mode,
        createServer: () => buildServer([timeout({ defaultMs: 5000 })], probe),
      });
      running.push(served);
      const client = await connect(served.url);
      clients.push(client);
      const result = client.callTool({ name: 'hang', arguments: {} });
      await expect(result).rejects.toMatchObject({
        code: -32015,
        data: { code: 'ERR_TIMEOUT', timeoutMs: 50 },
      });
      await probe.abortedSignal.opened;
      expect(probe.aborted).toBe(1);
    });

    it('answers /health and /ready without configuration details', async () => {
      const served = await start({
        mode,
        healthChecks: [{ name: 'db', check: async () => {} }],
      });
      const base = new URL('/', served.url);
      const health = await fetch(new URL('/health', base));
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const ready = await fetch(new URL('/ready', base));
      expect(ready.status).toBe(200);
      const body = await ready.json();
      expect(body.status).toBe('ready');
      expect(body.checks).toEqual([{ name: 'db', status: 'pass', latencyMs: expect.any(Number) }]);
    });
  });

  it('answers a stateless refusal with its HTTP status and challenge', async () => {
    const served = await start({
      mode: 'stateless',
      resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource',
    });
    const call = (name: string) =>
      post(served.url, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } });
    const scope = await call('needs-scope');
    expect(scope.status).toBe(403);
    expect(scope.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", scope="notes:write", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"',
    );
    expect(await scope.json()).toMatchObject({
      id: 7,
      error: { code: -32012, data: { code: 'ERR_INSUFFICIENT_SCOPE' } },
    });
    const limited = await call('limited');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect((await limited.json()).error.data).toEqual({ code: 'ERR_RATE_LIMITED', retryAfterMs: 2000 });
  });

  it('keeps client request ids apart in stateless mode: many clients, same ids, right answers', async () => {
    const served = await start({ mode: 'stateless' });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        post(served.url, {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'echo', arguments: { text: `c${i}` } },
        }).then((r) => r.json()),
      ),
    );
    answers.forEach((a, i) => {
      expect(a).toMatchObject({ id: 1, result: { content: [{ text: `c${i}` }] } });
    });
  });

  it('fails a server-to-client request at once in stateless mode, and carries it in stateful mode', async () => {
    const stateless = await start({ mode: 'stateless' });
    const c1 = await connect(stateless.url);
    clients.push(c1);
    const failed = await c1.callTool({ name: 'ask', arguments: {} });
    expect(failed.isError).toBe(true);
    expect((failed.content as Array<{ text: string }>)[0]!.text).toContain('not available in stateless mode');
    const stateful = await start({ mode: 'stateful' });
    const c2 = await connect(stateful.url);
    clients.push(c2);
    c2.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }));
    expect(await c2.callTool({ name: 'ask', arguments: {} })).toMatchObject({
      content: [{ text: 'answer accept' }],
    });
  });

  it('refuses requests over maxConcurrentRequests with 503, and cancels the calls of clients that hang up', async () => {
    const probe = newProbe(2);
    const served = await serve({
      mode: 'stateless',
      maxConcurrentRequests: 2,
      createServer: () => buildServer([], probe),
    });
    running.push(served);
    const hangUps = [new AbortController(), new AbortController()];
    const inFlight = hangUps.map((c, i) =>
      fetch(served.url, {
        method: 'POST',
        signal: c.signal,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: i,
          method: 'tools/call',
          params: { name: 'hang', arguments: {} },
        }),
      }).catch(() => 'hung up'),
    );
    await probe.hangReached.opened;
    const third = await post(served.url, { jsonrpc: '2.0', id: 3, method: 'tools/list' });
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('1');
    expect((await third.json()).error.data.code).toBe('ERR_UNAVAILABLE');
    for (const c of hangUps) c.abort();
    expect(await Promise.all(inFlight)).toEqual(['hung up', 'hung up']);
    await probe.abortedSignal.opened;
    // Both handlers are aborted through the SDK's cancellation path, and the slots are free again.
    await expect.poll(() => probe.aborted, { timeout: 5000 }).toBe(2);
    expect((await post(served.url, { jsonrpc: '2.0', id: 4, method: 'tools/list' })).status).toBe(200);
  });

  it('answers a CORS preflight for a listed origin and refuses other origins', async () => {
    const served = await start({ mode: 'stateless', cors: { origins: ['https://app.example.com'] } });
    const preflight = (origin: string) =>
      fetch(served.url, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const ok = await preflight('https://app.example.com');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(ok.headers.get('access-control-allow-headers')).toContain('mcp-session-id');
    expect((await preflight('https://evil.example.com')).status).toBe(403);
    const call = await post(
      served.url,
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { origin: 'https://app.example.com' },
    );
    expect(call.status).toBe(200);
    expect(call.headers.get('access-control-expose-headers')).toContain('mcp-session-id');
  });

  it('answers GET and DELETE with 405 in stateless mode and notifications with 202', async () => {
    const served = await start({ mode: 'stateless' });
    expect((await fetch(served.url, { headers: { accept: 'text/event-stream' } })).status).toBe(405);
    expect((await fetch(served.url, { method: 'DELETE' })).status).toBe(405);
    expect((await post(served.url, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(
      202,
    );
  });

  it('builds the server once in stateless mode, however many requests arrive', async () => {
    let built = 0;
    const served = await serve({
      mode: 'stateless',
      createServer: () => {
        built++;
        return buildServer([]);
      },
    });
    running.push(served);
    for (let i = 0; i < 20; i++) {
      const client = await connect(served.url);
      await client.callTool({ name: 'echo', arguments: { text: 'x' } });
      await client.close();
    }
    expect(built).toBe(1);
  });

  it('puts the peer address on ctx.request.remoteAddress in stateless mode', async () => {
    const seen: Array<string | undefined> = [];
    const served = await serve({
      mode: 'stateless',
      createServer: () =>
        buildServer([
          async (ctx, next) => {
            seen.push(ctx.request.remoteAddress);
            return next();
          },
        ]),
    });
    running.push(served);
    const client = await connect(served.url);
    await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    await client.close();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((a) => a === '127.0.0.1' || a === '::ffff:127.0.0.1')).toBe(true);
  });

  it('does not let another principal use a session', async () => {
    const bob: Principal = { ...alice, subject: 'bob' };
    const served = await start({
      mode: 'stateful',
      authenticate: async (req) => (req.headers.authorization === 'Bearer bob' ? bob : alice),
    });
    const client = await connect(served.url, { authorization: 'Bearer alice' });
    clients.push(client);
    const sessionId = (client.transport as { sessionId?: string }).sessionId!;
    const hijack = await post(
      served.url,
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { authorization: 'Bearer bob', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
    );
    expect(hijack.status).toBe(404);
  });

  it('serves protected-resource metadata at both well-known paths', async () => {
    const metadata = {
      resource: 'https://mcp.example.com/mcp',
      authorization_servers: ['https://issuer.example.com'],
    };
    const served = await start({ mode: 'stateless', protectedResourceMetadata: metadata });
    for (const p of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await fetch(new URL(p, served.url));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(metadata);
    }
  });

  it('fails /ready with 503 when a check fails or hangs, naming only the check', async () => {
    const served = await start({
      mode: 'stateless',
      readyTimeoutMs: 100,
      healthChecks: [
        { name: 'ok', check: async () => {} },
        { name: 'down', check: async () => Promise.reject(new Error('redis://secret@host refused')) },
        { name: 'hangs', check: () => new Promise(() => {}) },
      ],
    });
    const ready = await fetch(new URL('/ready', served.url));
    expect(ready.status).toBe(503);
    const text = await ready.text();
    expect(text).not.toContain('secret');
    expect(
      JSON.parse(text).checks.map((c: { name: string; status: string }) => `${c.name}:${c.status}`),
    ).toEqual(['ok:pass', 'down:fail', 'hangs:fail']);
  });

  it('throws TypeError on misconfiguration', async () => {
    await expect(serve({ mode: 'stateless' } as never)).rejects.toThrow(TypeError);
    await expect(serve({ mode: 'other', createServer: () => buildServer([]) } as never)).rejects.toThrow(
      TypeError,
    );
    await expect(
      serve({ mode: 'stateless', createServer: () => buildServer([]), maxBodyBytes: -1 }),
    ).rejects.toThrow(TypeError);
    await expect(
      serve({ mode: 'stateless', createServer: () => buildServer([]), cors: { origins: ['*'] } }),
    ).rejects.toThrow(TypeError);
    expect(() => timeout({} as never)).toThrow(TypeError);
  });

  it('types timeoutMs on TargetPolicy', () => {
    expectTypeOf<import('@mcp-harden/core').TargetPolicy['timeoutMs']>().toEqualTypeOf<number | undefined>();
    expect(isHardenError(new Error('x'))).toBe(false);
  });
});
