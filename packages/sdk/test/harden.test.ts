import {
  defineMiddleware,
  type EarlyRefusal,
  HardenError,
  type Middleware,
  type TargetPolicy,
} from '@mcp-harden/core';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildServer,
  type Connected,
  connectHttp,
  connectInMemory,
  type HttpHost,
  hostHttp,
  newProbe,
  type Probe,
} from './fixture.js';

type Mode = 'memory' | 'http-stateful' | 'http-stateless';

const modes: Mode[] = ['memory', 'http-stateful', 'http-stateless'];

describe.each(modes)('harden() over %s', (mode) => {
  let hosts: HttpHost[] = [];
  let connections: Connected[] = [];

  afterEach(async () => {
    for (const c of connections) await c.close().catch(() => {});
    for (const h of hosts) await h.close();
    hosts = [];
    connections = [];
  });

  async function start(
    use: Middleware[],
    probe: Probe = newProbe(),
    onError?: (error: unknown) => void,
  ): Promise<Connected> {
    let connected: Connected;
    if (mode === 'memory') {
      connected = await connectInMemory(buildServer(use, probe, onError));
    } else {
      const host = await hostHttp(mode === 'http-stateful' ? 'stateful' : 'stateless', () =>
        buildServer(use, probe, onError),
      );
      hosts.push(host);
      connected = await connectHttp(host);
    }
    connections.push(connected);
    return connected;
  }

  it('runs middleware in order, outermost first, around the handler', async () => {
    const seen: string[] = [];
    const tag =
      (name: string): Middleware =>
      async (ctx, next) => {
        if (ctx.method !== 'tools/call') return next();
        seen.push(`${name}:in`);
        const result = await next();
        seen.push(`${name}:out`);
        return result;
      };
    const { client } = await start([tag('outer'), tag('inner')]);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    expect(result.content).toEqual([{ type: 'text', text: 'hi' }]);
    expect(seen).toEqual(['outer:in', 'inner:in', 'inner:out', 'outer:out']);
  });

  it('lets a middleware rewrite the result and the arguments', async () => {
    const shout: Middleware = async (ctx, next) => {
      if (ctx.method === 'tools/call' && typeof ctx.arguments?.text === 'string') {
        ctx.arguments = { ...ctx.arguments, text: ctx.arguments.text.toUpperCase() };
      }
      const result = await next();
      if (ctx.method !== 'tools/call') return result;
      return { ...result, content: [...(result.content as unknown[]), { type: 'text', text: 'checked' }] };
    };
    const { client } = await start([shout]);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    expect(result.content).toEqual([
      { type: 'text', text: 'HI' },
      { type: 'text', text: 'checked' },
    ]);
  });

  it('delivers a refusal as a JSON-RPC error with the stable code in error.data.code', async () => {
    const refuseAdmin: Middleware = async (ctx, next) => {
      if (ctx.policy?.tags?.includes('admin')) {
        throw new HardenError('ERR_FORBIDDEN', 'Not allowed', { data: { needed: ['admin'] } });
      }
      return next();
    };
    const { client } = await start([refuseAdmin]);
    const error = await client.callTool({ name: 'secret', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32011);
    expect((error as McpError).data).toEqual({ code: 'ERR_FORBIDDEN', needed: ['admin'] });
    // The server keeps serving.
    expect((await client.callTool({ name: 'echo', arguments: { text: 'ok' } })).content).toEqual([
      { type: 'text', text: 'ok' },
    ]);
  });

  it('filters lists', async () => {
    const hideAdmin: Middleware = async (ctx, next) => {
      const result = await next();
      if (ctx.method !== 'tools/list') return result;
      const tools = result.tools as Array<{ name: string }>;
      return {
        ...result,
        tools: tools.filter((t) => !ctx.lookupPolicy('tool', t.name)?.tags?.includes('admin')),
      };
    };
    const { client } = await start([hideAdmin]);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['ask', 'echo', 'slow']);
  });

  it('covers resources, templates, prompts and completion, with the declared policy on ctx', async () => {
    const seen: Array<[string, string | undefined, TargetPolicy | undefined]> = [];
    const record: Middleware = async (ctx, next) => {
      seen.push([ctx.method, ctx.target, ctx.policy]);
      return next();
    };
    const { client } = await start([record]);
    await client.listResources();
    await client.listResourceTemplates();
    const read = await client.readResource({ uri: 'notes://7' });
    expect(read.contents[0]).toMatchObject({ text: 'note 7' });
    await client.listPrompts();
    const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
    expect(prompt.messages[0]?.content).toEqual({ type: 'text', text: 'Hello Ada' });
    const completion = await client.complete({
      ref: { type: 'ref/resource', uri: 'notes://{id}' },
      argument: { name: 'id', value: '1' },
    });
    expect(completion.completion.values).toEqual(['1', '10']);
    const readOnly = { tags: ['read-only'] };
    expect(seen).toEqual(
      expect.arrayContaining([
        ['resources/list', undefined, undefined],
        ['resources/templates/list', undefined, undefined],
        ['resources/read', 'notes://7', readOnly],
        ['prompts/list', undefined, undefined],
        ['prompts/get', 'greet', readOnly],
        ['completion/complete', 'notes://{id}', readOnly],
      ]),
    );
  });

  it('releases the slot of a slow tool when the call is cancelled', async () => {
    const probe = newProbe();
    let inFlight = 0;
    let released = 0;
    const slots: Middleware = async (ctx, next) => {
      if (ctx.method !== 'tools/call') return next();
      inFlight++;
      try {
        return await next();
      } finally {
        inFlight--;
        released++;
      }
    };
    const { client } = await start([slots], probe);
    const controller = new AbortController();
    const call = client.callTool({ name: 'slow', arguments: {} }, undefined, { signal: controller.signal });
    await probe.started;
    expect(inFlight).toBe(1);
    if (mode === 'http-stateless') {
      // Stateless: a cancellation arrives on another request, so no per-request server can see
      // it; what releases the slot is the transport closing when the HTTP exchange ends.
      void call.catch(() => {});
      await hosts[0]!.servers.at(-1)!.server.close();
    } else {
      controller.abort('user gave up');
      await expect(call).rejects.toThrow();
    }
    await expect.poll(() => released, { timeout: 5_000 }).toBe(1);
    expect(inFlight).toBe(0);
    await expect.poll(() => probe.slowAborted, { timeout: 5_000 }).toBe(1);
    // The server keeps serving after the cancellation.
    expect((await client.callTool({ name: 'echo', arguments: { text: 'after' } })).content).toEqual([
      { type: 'text', text: 'after' },
    ]);
  });

  it.runIf(mode !== 'http-stateless')(
    'aborts ctx.signal on cancellation, whether it was read before or only after',
    async () => {
      const probe = newProbe();
      let readEarly = true;
      let earlySignal: AbortSignal | undefined;
      let late: unknown;
      let lateAborted: boolean | undefined;
      const early: Middleware = async (ctx, next) => {
        if (ctx.target === 'slow' && readEarly) earlySignal = ctx.signal;
        return next();
      };
      const reader: Middleware = async (ctx, next) => {
        if (ctx.target !== 'slow') return next();
        try {
          return await next();
        } finally {
          // ctx.aborted first: it must see the cancellation before the signal is made.
          lateAborted = ctx.aborted;
          late = ctx.signal.aborted ? ctx.signal.reason : 'not aborted';
        }
      };
      const { client } = await start([early, reader], probe);
      const cancelSlowCall = async () => {
        const controller = new AbortController();
        const call = client.callTool({ name: 'slow', arguments: {} }, undefined, {
          signal: controller.signal,
        });
        await expect.poll(() => probe.slowStarted - probe.slowAborted, { timeout: 5_000 }).toBe(1);
        controller.abort('user gave up');
        await expect(call).rejects.toThrow();
        await expect.poll(() => late, { timeout: 5_000 }).toBeDefined();
      };

      // Read before the cancellation: a listener hears it.
      let heard: unknown;
      const listening = cancelSlowCall();
      await probe.started;
      expect(earlySignal?.aborted).toBe(false);
      earlySignal!.addEventListener('abort', () => {
        heard = earlySignal!.reason;
      });
      await listening;
      expect((heard as HardenError).code).toBe('ERR_CANCELLED');
      expect((late as HardenError).code).toBe('ERR_CANCELLED');

      // First read only after the cancellation: the signal is made already aborted.
      readEarly = false;
      late = undefined;
      await cancelSlowCall();
      expect(lateAborted).toBe(true);
      expect(late).toBeInstanceOf(HardenError);
      expect((late as HardenError).code).toBe('ERR_CANCELLED');
    },
  );

  it('answers bad input with clear JSON-RPC errors and keeps serving', async () => {
    const { client } = await start([async (_ctx, next) => next()]);
    const { CallToolResultSchema, EmptyResultSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const badArgs = await client
      .request(
        { method: 'tools/call', params: { name: 'echo', arguments: 'not an object' } },
        CallToolResultSchema,
      )
      .catch((e: unknown) => e);
    expect(badArgs).toBeInstanceOf(McpError);
    expect((badArgs as McpError).code).toBe(-32602);
    expect((badArgs as McpError).data).toMatchObject({ code: 'ERR_INVALID_ARGUMENTS', path: 'arguments' });

    const noName = await client
      .request({ method: 'tools/call', params: { arguments: {} } }, CallToolResultSchema)
      .catch((e: unknown) => e);
    expect((noName as McpError).code).toBe(-32602);
    expect((noName as McpError).data).toMatchObject({ code: 'ERR_INVALID_PARAMS' });

    const unknown = await client
      .request({ method: 'no/such/method' }, EmptyResultSchema)
      .catch((e: unknown) => e);
    expect((unknown as McpError).code).toBe(-32601);

    expect((await client.callTool({ name: 'echo', arguments: { text: 'still here' } })).content).toEqual([
      { type: 'text', text: 'still here' },
    ]);
  });

  it('reports a request refused by the params check to the middleware that observe early refusals', async () => {
    const seen: EarlyRefusal[] = [];
    const observer = defineMiddleware('observer', async (_ctx, next) => next(), {
      onEarlyRefusal: (refusal) => void seen.push(refusal),
    });
    const { client } = await start([observer]);
    const { CallToolResultSchema } = await import('@modelcontextprotocol/sdk/types.js');
    await client
      .request(
        { method: 'tools/call', params: { name: 'echo', arguments: 'not an object' } },
        CallToolResultSchema,
      )
      .catch(() => {});
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      source: 'sdk',
      method: 'tools/call',
      error: { code: 'ERR_INVALID_ARGUMENTS' },
    });
    expect(seen[0]!.request.transport).toBe(mode === 'memory' ? 'memory' : 'http');
  });

  it('hides the detail of an unexpected middleware failure', async () => {
    const errors: unknown[] = [];
    const broken: Middleware = async () => {
      throw new Error('database password is hunter2');
    };
    const { client } = await start([broken], newProbe(), (e) => errors.push(e));
    const error = await client.listTools().catch((e: unknown) => e);
    expect((error as McpError).code).toBe(-32603);
    expect(JSON.stringify(error)).not.toContain('hunter2');
    expect((error as McpError).message).not.toContain('hunter2');
    expect((error as McpError).data).toEqual({ code: 'ERR_INTERNAL' });
    // Reported on the server side, where an operator can see it.
    expect(errors).toHaveLength(1);
  });

  // Stateless HTTP cannot carry a server-to-client request: the client's answer arrives on a new
  // request that no per-request server can match, so this case runs in memory and stateful only.
  it.runIf(mode !== 'http-stateless')('keeps server-to-client requests (elicitation) working', async () => {
    const { client } = await start([async (_ctx, next) => next()]);
    const { ElicitRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: 'accept',
      content: { name: 'Ada' },
    }));
    const result = await client.callTool({ name: 'ask', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'hello Ada' }]);
  });
});
