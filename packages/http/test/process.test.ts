import { request } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { type RedisService, startRedis } from '@mcp-harden/test-services';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../src/index.js';
import { type ChildServer, startChild } from './child.js';
import { buildServer } from './fixture.js';

const children: ChildServer[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill();
});

function call(url: URL, id: number, name: string, args: Record<string, unknown>) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
  });
}

describe('graceful shutdown', () => {
  it('finishes 200 in-flight slow calls after SIGTERM, answers /ready 503 from the first moment, exits 0', async () => {
    const child = await startChild({ MODE: 'stateless' });
    children.push(child);
    const calls = Array.from({ length: 200 }, (_, i) => call(child.url, i, 'slow', { n: i }));
    // Every call is inside the handler before the signal (the child counts them).
    for (let n = 50; n <= 200; n += 50) expect(await child.next('started')).toBe(n);
    child.process.kill('SIGTERM');
    expect(await child.next('draining')).toBe(true);
    const ready = await fetch(new URL('/ready', child.url));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining', checks: [] });
    const late = await call(child.url, 999, 'slow', { n: 999 });
    expect(late.status).toBe(503);
    expect((await late.json()).error.data.code).toBe('ERR_UNAVAILABLE');
    child.send('release');
    const answers = await Promise.all(
      calls.map(async (r) => ({ status: (await r).status, body: await (await r).json() })),
    );
    answers.forEach((a, i) => {
      expect(a.status).toBe(200);
      expect(a.body).toMatchObject({ id: i, result: { content: [{ type: 'text', text: `done ${i}` }] } });
    });
    expect(await child.exited).toBe(0);
  });
});

describe('limits', () => {
  it('refuses 10,000 requests with a bad Host header, each with 403, with memory flat', async () => {
    const child = await startChild({ MODE: 'stateless' }, ['--expose-gc']);
    children.push(child);
    const send = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          child.url,
          { method: 'POST', headers: { host: 'attacker.example', 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
      });
    const burst = async (total: number) => {
      const statuses = new Map<number, number>();
      let sent = 0;
      const worker = async () => {
        while (sent < total) {
          sent++;
          const status = await send();
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
      return statuses;
    };
    await burst(1000);
    child.send('heap');
    const before = await child.next<number>('heap');
    const statuses = await burst(10_000);
    expect([...statuses]).toEqual([[403, 10_000]]);
    child.send('heap');
    const after = await child.next<number>('heap');
    console.info(`heap after 1,000 warm-up requests: ${before} B; after 10,000 more: ${after} B`);
    // Generous bound: a leak of even 1 KiB per request would exceed it by far.
    expect(after - before).toBeLessThan(4 * 1024 * 1024);
  }, 60_000);

  it('closes a slowloris connection whose headers never finish with 408', async () => {
    const served = await serve({
      mode: 'stateless',
      createServer: () => buildServer([]),
      headersTimeoutMs: 200,
      requestTimeoutMs: 1000,
      timeoutCheckIntervalMs: 50,
    });
    try {
      const socket = tcpConnect(served.port, '127.0.0.1');
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => (received += chunk));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\n`);
      // One more header line now and then, never the blank line; bounded, in case the server never closes.
      let lines = 0;
      const drip = setInterval(() => {
        if (socket.destroyed || ++lines > 200) return clearInterval(drip);
        socket.write(`x-drip-${lines}: 1\r\n`);
      }, 25);
      await closed;
      clearInterval(drip);
      expect(received.startsWith('HTTP/1.1 408')).toBe(true);
      expect(lines).toBeLessThan(200);
    } finally {
      await served.close({ deadlineMs: 1000 });
    }
  });
});

describe('stateful mode across replicas', () => {
  let redis: RedisService;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('continues a session created on one replica on another that shares Redis', async () => {
    const a = await startChild({ MODE: 'stateful', REDIS_URL: redis.url, REPLICA: 'a' });
    const b = await startChild({ MODE: 'stateful', REDIS_URL: redis.url, REPLICA: 'b' });
    children.push(a, b);
    // A load balancer stand-in: the client always uses A's URL; requests go where `target` says.
    let target = a.url;
    const routed: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      url.port = target.port;
      return fetch(url, init);
    };
    const client = new Client({ name: 'replica-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(a.url, { fetch: routed });
    await client.connect(transport);
    try {
      const first = await client.callTool({ name: 'echo', arguments: { text: 'one' } });
      expect(first.structuredContent).toMatchObject({ replica: 'a', session: transport.sessionId });
      // Replica A goes away; the same session continues on B.
      a.process.kill('SIGTERM');
      expect(await a.exited).toBe(0);
      target = b.url;
      const second = await client.callTool({ name: 'echo', arguments: { text: 'two' } });
      expect(second.structuredContent).toMatchObject({
        text: 'two',
        replica: 'b',
        session: transport.sessionId,
      });
      const listed = await client.listTools();
      expect(listed.tools.map((t) => t.name)).toEqual(['echo', 'slow']);
    } finally {
      await client.close();
    }
  });

  it('answers 404 for a session no replica knows', async () => {
    const b = await startChild({ MODE: 'stateful', REDIS_URL: redis.url, REPLICA: 'b' });
    children.push(b);
    const res = await fetch(b.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': 'no-such-session',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
  });
});
