import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, connectHttp, type HttpHost, hostHttp } from './fixture.js';

describe('harden() over Streamable HTTP with bad input', () => {
  let host: HttpHost;
  beforeAll(async () => {
    host = await hostHttp('stateless', () => buildServer([async (_ctx, next) => next()]));
  });
  afterAll(async () => {
    await host.close();
  });

  const post = (body: string) =>
    fetch(host.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
    });

  it('answers a body that is not JSON with a JSON-RPC parse error', async () => {
    const res = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
  });

  it('answers a message that is not JSON-RPC with a clear error', async () => {
    const res = await post('{"hello": "world"}');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: number; message: string } };
    expect([-32700, -32600]).toContain(body.error.code);
  });

  it('keeps serving the official client afterwards', async () => {
    const { client, close } = await connectHttp(host);
    try {
      expect((await client.callTool({ name: 'echo', arguments: { text: 'fine' } })).content).toEqual([
        { type: 'text', text: 'fine' },
      ]);
    } finally {
      await close();
    }
  });
});
