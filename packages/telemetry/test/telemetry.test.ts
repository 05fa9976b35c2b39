import {
  compose,
  createContext,
  defineMiddleware,
  ERROR_CODES,
  HardenError,
  type HardenErrorCode,
  type HardenState,
  type Middleware,
  toJsonRpcError,
} from '@mcp-harden/core';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import {
  type Context,
  context,
  metrics,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import type { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DURATION_BUCKETS, METRIC_NAMES, type TelemetryOptions, telemetry } from '../src/index.js';
import {
  buildServer,
  type Connected,
  connectHttp,
  connectInMemory,
  type HttpHost,
  hostHttp,
  type Seen,
} from './fixture.js';
import { enableContext, Otel, w3cPropagator } from './harness.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

let contextManager: AsyncLocalStorageContextManager;
beforeAll(() => {
  contextManager = enableContext();
  context.setGlobalContextManager(contextManager);
});
afterAll(() => {
  context.disable();
});

let otel: Otel;
let connections: Connected[] = [];
let hosts: HttpHost[] = [];
let seen: Seen;

beforeEach(() => {
  otel = new Otel();
  seen = {};
});

afterEach(async () => {
  for (const c of connections) await c.close().catch(() => {});
  for (const h of hosts) await h.close();
  connections = [];
  hosts = [];
  await otel.shutdown();
});

function tm(extra: Partial<TelemetryOptions> = {}) {
  return telemetry({
    tracerProvider: otel.tracerProvider,
    meterProvider: otel.meterProvider,
    propagator: w3cPropagator,
    ...extra,
  });
}

const userTracer = () => otel.tracerProvider.getTracer('user-code');

async function inMemory(use: Middleware[]): Promise<Connected> {
  const connected = await connectInMemory(buildServer(use, userTracer(), seen));
  connections.push(connected);
  return connected;
}

async function overHttp(
  use: Middleware[],
  opts: { httpSpans?: boolean; headers?: Record<string, string> } = {},
) {
  const host = await hostHttp(
    () => buildServer(use, userTracer(), seen),
    opts.httpSpans ? otel.tracerProvider.getTracer('http-instrumentation') : undefined,
  );
  hosts.push(host);
  const connected = await connectHttp(host, opts.headers);
  connections.push(connected);
  return { host, ...connected };
}

/** Captures `ctx.state` as seen inside telemetry. */
function stateProbe(into: HardenState[]): Middleware {
  return async (ctx, next) => {
    into.push(ctx.state);
    return next();
  };
}

describe('telemetry spans', () => {
  it('emits one SERVER span named "tools/call echo" with the MCP attributes and OK status', async () => {
    const states: HardenState[] = [];
    const { client } = await inMemory([tm(), stateProbe(states)]);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    expect(result.content).toEqual([{ type: 'text', text: 'hi' }]);

    const spans = await otel.mcpSpans();
    expect(spans.map((s) => s.name)).toEqual(['tools/call echo']);
    const span = spans[0]!;
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'echo',
      'gen_ai.operation.name': 'execute_tool',
      'mcp.protocol.version': LATEST_PROTOCOL_VERSION,
    });
    expect(typeof span.attributes['jsonrpc.request.id']).toBe('string');
    expect(span.attributes['error.type']).toBeUndefined();
    expect(span.attributes['rpc.response.status_code']).toBeUndefined();
    expect(span.attributes['gen_ai.tool.call.arguments']).toBeUndefined();
    expect(span.parentSpanContext).toBeUndefined();
    expect(states[0]?.trace).toEqual({
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
    });
  });

  it('names list spans by method only and sets no target attributes', async () => {
    const { client } = await inMemory([tm()]);
    await client.listTools();
    const [span] = await otel.mcpSpans();
    expect(span?.name).toBe('tools/list');
    expect(span?.attributes['mcp.method.name']).toBe('tools/list');
    expect(span?.attributes['gen_ai.tool.name']).toBeUndefined();
    expect(span?.attributes['gen_ai.operation.name']).toBeUndefined();
  });

  it('names prompts/get by prompt and keeps resource URIs out of names and attributes by default', async () => {
    const { client } = await inMemory([tm()]);
    await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
    await client.readResource({ uri: 'config://app/secret-tenant' });
    const spans = await otel.mcpSpans();
    expect(spans.map((s) => s.name)).toEqual(['prompts/get greet', 'resources/read']);
    expect(spans[0]?.attributes['gen_ai.prompt.name']).toBe('greet');
    expect(spans[0]?.attributes['gen_ai.prompt.variable.name']).toBeUndefined();
    expect(spans[1]?.attributes['mcp.resource.uri']).toBeUndefined();
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain('secret-tenant');
  });

  it('puts the resource URI on the span and in its name only when opted in', async () => {
    const { client } = await inMemory([tm({ recordResourceUri: true, resourceUriInSpanName: true })]);
    await client.readResource({ uri: 'config://app/secret-tenant' });
    const [span] = await otel.mcpSpans();
    expect(span?.name).toBe('resources/read config://app/secret-tenant');
    expect(span?.attributes['mcp.resource.uri']).toBe('config://app/secret-tenant');
  });

  it('makes spans opened by the tool handler children of the request span', async () => {
    const { client } = await inMemory([tm()]);
    await client.callTool({ name: 'traced', arguments: {} });
    const spans = await otel.spans();
    const server = spans.find((s) => s.name === 'tools/call traced')!;
    const child = spans.find((s) => s.name === 'user work')!;
    expect(seen.handlerSpan?.spanId).toBe(child.spanContext().spanId);
    expect(child.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(child.spanContext().traceId).toBe(server.spanContext().traceId);
  });

  it('marks a tool result with isError as error.type "tool_error" and status ERROR', async () => {
    const { client } = await inMemory([tm()]);
    const result = await client.callTool({ name: 'fail', arguments: {} });
    expect(result.isError).toBe(true);
    const [span] = await otel.mcpSpans();
    expect(span?.name).toBe('tools/call fail');
    expect(span?.attributes['error.type']).toBe('tool_error');
    expect(span?.attributes['rpc.response.status_code']).toBeUndefined();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    const [point] = await otel.histogramPoints(METRIC_NAMES.operationDuration);
    expect(point?.attributes['error.type']).toBe('tool_error');
    expect(await otel.counterPoints(METRIC_NAMES.refusals)).toEqual([]);
  });

  it('records a JSON-RPC error of the server itself with its code, without counting a refusal', async () => {
    const { client } = await inMemory([tm()]);
    await expect(client.readResource({ uri: 'config://nowhere' })).rejects.toThrow();
    const [span] = await otel.mcpSpans();
    const code = span?.attributes['rpc.response.status_code'];
    expect(typeof code).toBe('string');
    expect(Number(code)).toBeLessThan(0);
    expect(span?.attributes['error.type']).toBe(code);
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(await otel.counterPoints(METRIC_NAMES.refusals)).toEqual([]);
  });

  const refusals: Array<[string, HardenErrorCode]> = [
    ['auth', 'ERR_UNAUTHENTICATED'],
    ['rbac', 'ERR_FORBIDDEN'],
    ['rate-limit', 'ERR_RATE_LIMITED'],
    ['sanitize', 'ERR_INVALID_ARGUMENTS'],
  ];

  it.each(refusals)(
    'records a refusal by %s (%s) on the span, the histogram and the refusal counter',
    async (source, code) => {
      const refuse = defineMiddleware(source, async (ctx, next) => {
        if (ctx.method === 'tools/call') throw new HardenError(code, `refused by ${source}`);
        return next();
      });
      const { client } = await inMemory([tm(), refuse]);
      await expect(client.callTool({ name: 'echo', arguments: { text: 'x' } })).rejects.toThrow(
        `refused by ${source}`,
      );

      const [span] = await otel.mcpSpans();
      const jsonRpc = String(ERROR_CODES[code].jsonRpc);
      expect(span?.name).toBe('tools/call echo');
      expect(span?.attributes['error.type']).toBe(jsonRpc);
      expect(span?.attributes['rpc.response.status_code']).toBe(jsonRpc);
      expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: `refused by ${source}` });

      const [duration] = await otel.histogramPoints(METRIC_NAMES.operationDuration);
      expect(duration?.attributes['error.type']).toBe(jsonRpc);
      expect(duration?.value.count).toBe(1);
      const counted = await otel.counterPoints(METRIC_NAMES.refusals);
      expect(counted).toHaveLength(1);
      expect(counted[0]?.value).toBe(1);
      expect(counted[0]?.attributes).toEqual({
        'mcp.method.name': 'tools/call',
        'gen_ai.tool.name': 'echo',
        'error.code': code,
        'mcp_harden.refusal.source': source,
      });
    },
  );

  it('continues the trace from traceparent in _meta and extracts tracestate and baggage', async () => {
    const { client } = await inMemory([tm()]);
    await client.callTool({
      name: 'traced',
      arguments: {},
      _meta: { traceparent: TRACEPARENT, tracestate: 'vendor=abc', baggage: 'tenant=acme' },
    });
    const spans = await otel.spans();
    const server = spans.find((s) => s.name === 'tools/call traced')!;
    expect(server.spanContext().traceId).toBe(TRACE_ID);
    expect(server.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(server.parentSpanContext?.isRemote).toBe(true);
    expect(server.spanContext().traceState?.get('vendor')).toBe('abc');
    expect(server.links).toEqual([]);
    const child = spans.find((s) => s.name === 'user work')!;
    expect(child.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(seen.baggage).toEqual({ tenant: 'acme' });
  });

  it('names completion spans by prompt, and records client address and stdio transport when known', async () => {
    const chain = compose([tm()]);
    const ctx = createContext({
      method: 'completion/complete',
      params: { ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'name', value: 'A' } },
      requestId: 9,
      request: { transport: 'stdio', remoteAddress: '10.0.0.7' },
    });
    await chain(ctx, async () => ({ completion: { values: [] } }));
    const [span] = await otel.mcpSpans();
    expect(span?.name).toBe('completion/complete greet');
    expect(span?.attributes).toMatchObject({
      'gen_ai.prompt.name': 'greet',
      'jsonrpc.request.id': '9',
      'network.transport': 'pipe',
      'client.address': '10.0.0.7',
    });
    expect(span?.attributes['gen_ai.operation.name']).toBeUndefined();
    const [point] = await otel.histogramPoints(METRIC_NAMES.operationDuration);
    expect(point?.attributes['client.address']).toBeUndefined();
  });

  it('ignores a malformed traceparent and starts a new trace', async () => {
    const { client } = await inMemory([tm()]);
    await client.callTool({ name: 'echo', arguments: { text: 'x' }, _meta: { traceparent: 'garbage' } });
    const [span] = await otel.mcpSpans();
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.spanContext().traceId).not.toBe(TRACE_ID);
  });

  it('over HTTP, parents on _meta, links the HTTP server span, and records session and transport', async () => {
    const { client, host } = await overHttp([tm()], { httpSpans: true });
    await client.callTool({ name: 'echo', arguments: { text: 'x' }, _meta: { traceparent: TRACEPARENT } });
    const server = (await otel.mcpSpans()).find((s) => s.name === 'tools/call echo')!;
    expect(server.parentSpanContext?.spanId).toBe(PARENT_ID);
    const httpSpan = host.httpSpans[host.httpSpans.length - 1]!;
    expect(server.links.map((l) => l.context.spanId)).toEqual([httpSpan.spanId]);
    expect(server.links[0]?.context.traceId).toBe(httpSpan.traceId);
    expect(server.attributes['mcp.session.id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.attributes['network.transport']).toBe('tcp');
    expect(server.attributes['network.protocol.name']).toBe('http');
  });

  it('over HTTP without _meta, uses the HTTP server span as parent and adds no link', async () => {
    const { client, host } = await overHttp([tm()], { httpSpans: true });
    await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    const server = (await otel.mcpSpans()).find((s) => s.name === 'tools/call echo')!;
    const httpSpan = host.httpSpans[host.httpSpans.length - 1]!;
    expect(server.parentSpanContext?.spanId).toBe(httpSpan.spanId);
    expect(server.links).toEqual([]);
  });
});

describe('telemetry metrics', () => {
  const SECRET_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.super-secret-token.sig';
  const SECRET_ARG = 'card-4111111111111111';
  const allowedMetricAttributes = new Set([
    'mcp.method.name',
    'gen_ai.tool.name',
    'gen_ai.prompt.name',
    'gen_ai.operation.name',
    'error.type',
    'mcp.protocol.version',
    'network.transport',
    'network.protocol.name',
    'rpc.response.status_code',
  ]);

  it('records mcp.server.operation.duration in seconds with the advised buckets and no session id, token or argument', async () => {
    const { client } = await overHttp([tm()], { headers: { authorization: `Bearer ${SECRET_TOKEN}` } });
    await client.callTool({ name: 'echo', arguments: { text: SECRET_ARG } });
    await client.callTool({ name: 'echo', arguments: { text: SECRET_ARG } });
    await client.listTools();

    const metric = await otel.metric(METRIC_NAMES.operationDuration);
    expect(metric?.descriptor.unit).toBe('s');
    const points = await otel.histogramPoints(METRIC_NAMES.operationDuration);
    const echo = points.find((p) => p.attributes['gen_ai.tool.name'] === 'echo')!;
    expect(echo.value.count).toBe(2);
    expect(echo.value.buckets.boundaries).toEqual([...DURATION_BUCKETS]);
    expect(echo.value.sum).toBeGreaterThanOrEqual(0);
    // Seconds, not milliseconds: two in-process calls take far less than 60 s in total.
    expect(echo.value.sum).toBeLessThan(60);
    expect(echo.attributes).toEqual({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'echo',
      'gen_ai.operation.name': 'execute_tool',
      'mcp.protocol.version': LATEST_PROTOCOL_VERSION,
      'network.transport': 'tcp',
      'network.protocol.name': 'http',
    });
    for (const point of points) {
      for (const key of Object.keys(point.attributes)) expect(allowedMetricAttributes).toContain(key);
    }

    const sessionId = (await otel.mcpSpans())[0]?.attributes['mcp.session.id'];
    expect(typeof sessionId).toBe('string');
    const everything = JSON.stringify(await otel.metrics());
    expect(everything).not.toContain(String(sessionId));
    expect(everything).not.toContain('mcp.session.id');
    expect(everything).not.toContain(SECRET_TOKEN);
    expect(everything).not.toContain('super-secret-token');
    expect(everything).not.toContain(SECRET_ARG);
    // Nor on spans, where nothing content-bearing is recorded unless opted in.
    const spans = JSON.stringify(
      (await otel.spans()).map((s) => ({ name: s.name, attributes: s.attributes })),
    );
    expect(spans).not.toContain('super-secret-token');
    expect(spans).not.toContain(SECRET_ARG);
  });

  it('keeps made-up tool names off metrics: only declared or successful targets, up to the limit', async () => {
    const { client } = await inMemory([tm({ metricTargetLimit: 2 })]);
    for (let i = 0; i < 3; i++)
      await client.callTool({ name: `made-up-${i}`, arguments: {} }).catch(() => {});
    await client.callTool({ name: 'echo', arguments: { text: 'x' } }); // declared with a policy
    await client.callTool({ name: 'traced', arguments: {} }); // undeclared, succeeds: admitted
    await client.callTool({ name: 'fail', arguments: {} }); // limit reached
    const names = (await otel.histogramPoints(METRIC_NAMES.operationDuration))
      .map((p) => p.attributes['gen_ai.tool.name'])
      .sort();
    expect(names).toEqual(['_OTHER', 'echo', 'traced']);
    const spanNames = (await otel.mcpSpans()).map((s) => s.name);
    expect(spanNames).toContain('tools/call made-up-0');
  });

  it('records mcp.server.session.duration from the session helpers, without a session id', async () => {
    const middleware = tm();
    const timer = middleware.startSession({ transport: 'http', protocolVersion: '2025-06-18' });
    timer.end();
    timer.end();
    middleware.recordSessionEnd(2.5, { transport: 'stdio', errorType: 'timeout' });
    middleware.recordSessionEnd(Number.NaN);
    middleware.recordSessionEnd(-1);
    const points = await otel.histogramPoints(METRIC_NAMES.sessionDuration);
    expect(points.map((p) => p.attributes)).toEqual([
      { 'mcp.protocol.version': '2025-06-18', 'network.transport': 'tcp' },
      { 'network.transport': 'pipe', 'error.type': 'timeout' },
    ]);
    expect(points.map((p) => p.value.count)).toEqual([1, 1]);
    expect(points[1]?.value.sum).toBe(2.5);
    expect(points[0]?.value.buckets.boundaries).toEqual([...DURATION_BUCKETS]);
  });

  it('counts a refusal made before the chain ran, with a bounded method attribute', async () => {
    const middleware = tm();
    const refusal = {
      source: 'http',
      requestId: undefined,
      sessionId: 'session-should-not-appear',
      request: { transport: 'http' },
    };
    middleware.onEarlyRefusal?.({
      ...refusal,
      error: new HardenError('ERR_UNAUTHENTICATED'),
      method: undefined,
    });
    middleware.onEarlyRefusal?.({
      ...refusal,
      error: new HardenError('ERR_INVALID_PARAMS'),
      method: 'x'.repeat(300),
    });
    middleware.onEarlyRefusal?.({
      ...refusal,
      error: new HardenError('ERR_INVALID_ARGUMENTS'),
      method: 'tools/call',
    });
    const points = await otel.counterPoints(METRIC_NAMES.refusals);
    expect(points.map((p) => p.attributes)).toEqual([
      { 'error.code': 'ERR_UNAUTHENTICATED', 'mcp_harden.refusal.source': 'http' },
      { 'error.code': 'ERR_INVALID_PARAMS', 'mcp_harden.refusal.source': 'http' },
      {
        'error.code': 'ERR_INVALID_ARGUMENTS',
        'mcp_harden.refusal.source': 'http',
        'mcp.method.name': 'tools/call',
      },
    ]);
    expect(JSON.stringify(points)).not.toContain('session-should-not-appear');
  });

  it('does not count a client cancellation as a refusal', async () => {
    const chain = compose([tm()]);
    const ctx = createContext({ method: 'tools/call', params: { name: 'echo', arguments: {} } });
    await expect(
      chain(ctx, async () => {
        throw new HardenError('ERR_CANCELLED');
      }),
    ).rejects.toThrow();
    expect(await otel.counterPoints(METRIC_NAMES.refusals)).toEqual([]);
    const [point] = await otel.histogramPoints(METRIC_NAMES.operationDuration);
    expect(point?.attributes['error.type']).toBe(String(ERROR_CODES.ERR_CANCELLED.jsonRpc));
  });
});

describe('content capture', () => {
  const redact = (value: unknown) => JSON.parse(JSON.stringify(value).replace(/4111\d{12}/g, '[card]'));

  it('records tool arguments and results only through the redact function', async () => {
    const { client } = await inMemory([tm({ captureContent: { arguments: true, results: true, redact } })]);
    await client.callTool({ name: 'echo', arguments: { text: 'card 4111111111111111' } });
    const [span] = await otel.mcpSpans();
    expect(span?.attributes['gen_ai.tool.call.arguments']).toBe('{"text":"card [card]"}');
    expect(span?.attributes['gen_ai.tool.call.result']).toBe('[{"type":"text","text":"card [card]"}]');
  });

  it('records prompt arguments as gen_ai.prompt.variable.<name> after redaction', async () => {
    const { client } = await inMemory([
      tm({ captureContent: { arguments: true, redact: (v) => ({ ...(v as object), name: '[name]' }) } }),
    ]);
    await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
    const [span] = await otel.mcpSpans();
    expect(span?.attributes['gen_ai.prompt.variable.name']).toBe('[name]');
  });

  it('omits results when nothing redacted them, and records them once sanitize ran inside', async () => {
    const { client } = await inMemory([tm({ captureContent: { results: true } })]);
    await client.callTool({ name: 'echo', arguments: { text: 'raw' } });
    const [omitted] = await otel.mcpSpans();
    expect(omitted?.attributes['gen_ai.tool.call.result']).toBeUndefined();
    expect(omitted?.attributes['mcp_harden.content.omitted']).toBe('not_redacted');

    otel.spanExporter.reset();
    const sanitizeStandIn: Middleware = async (ctx, next) => {
      const result = await next();
      (ctx.state as { redactions?: Record<string, number> }).redactions = {};
      return result;
    };
    const other = await inMemory([tm({ captureContent: { results: true } }), sanitizeStandIn]);
    await other.client.callTool({ name: 'echo', arguments: { text: 'already redacted' } });
    const [recorded] = await otel.mcpSpans();
    expect(recorded?.attributes['gen_ai.tool.call.result']).toBe(
      '[{"type":"text","text":"already redacted"}]',
    );
  });

  it('cuts captured values at maxLength', async () => {
    const { client } = await inMemory([
      tm({ captureContent: { arguments: true, redact: (v) => v, maxLength: 10 } }),
    ]);
    await client.callTool({ name: 'echo', arguments: { text: 'x'.repeat(100) } });
    const [span] = await otel.mcpSpans();
    expect(span?.attributes['gen_ai.tool.call.arguments']).toHaveLength(10);
  });
});

describe('without an OpenTelemetry SDK', () => {
  class CountingPropagator {
    calls = 0;
    extract(ctx: Context, _carrier: unknown, _getter?: TextMapGetter<unknown>): Context {
      this.calls++;
      return ctx;
    }
  }

  it('only calls next(): no extraction, no state, the result untouched', async () => {
    const propagator = new CountingPropagator();
    const chain = compose([telemetry({ propagator })]);
    const ctx = createContext({
      method: 'tools/call',
      params: { name: 'echo', _meta: { traceparent: TRACEPARENT } },
    });
    const result = { content: [] };
    expect(await chain(ctx, async () => result)).toBe(result);
    expect(propagator.calls).toBe(0);
    expect(ctx.state.trace).toBeUndefined();
  });

  it('picks up providers registered globally after it was built', async () => {
    const propagator = new CountingPropagator();
    const middleware = telemetry({ propagator });
    const chain = compose([middleware]);
    const call = () =>
      chain(
        createContext({
          method: 'tools/call',
          params: { name: 'echo', _meta: { traceparent: TRACEPARENT } },
        }),
        async () => ({ content: [] }),
      );
    await call();
    expect(await otel.spans()).toEqual([]);
    try {
      trace.setGlobalTracerProvider(otel.tracerProvider);
      metrics.setGlobalMeterProvider(otel.meterProvider);
      await call();
      expect((await otel.mcpSpans()).map((s) => s.name)).toEqual(['tools/call echo']);
      expect(propagator.calls).toBe(1);
      expect((await otel.histogramPoints(METRIC_NAMES.operationDuration))[0]?.value.count).toBe(1);
    } finally {
      trace.disable();
      metrics.disable();
    }
  });
});

describe('failing soft', () => {
  it('answers normally when the tracer and meter throw', async () => {
    const broken = () => {
      throw new Error('exporter down');
    };
    const middleware = telemetry({
      tracerProvider: { getTracer: () => ({ startSpan: broken, startActiveSpan: broken }) as never },
      meterProvider: {
        getMeter: () =>
          ({
            createHistogram: () => ({ record: broken }),
            createCounter: () => ({ add: broken }),
          }) as never,
      },
    });
    const { client } = await inMemory([middleware]);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'still works' } });
    expect(result.content).toEqual([{ type: 'text', text: 'still works' }]);
  });

  it('rethrows the refusal unchanged', async () => {
    const error = new HardenError('ERR_FORBIDDEN');
    const chain = compose([tm()]);
    const ctx = createContext({ method: 'tools/list' });
    await expect(
      chain(ctx, async () => {
        throw error;
      }),
    ).rejects.toBe(error);
  });
});

describe('telemetry() options', () => {
  it.each([
    ['a non-object', null],
    ['a tracerProvider without getTracer', { tracerProvider: {} }],
    ['a meterProvider without getMeter', { meterProvider: {} }],
    ['a propagator without extract', { propagator: {} }],
    ['a negative metricTargetLimit', { metricTargetLimit: -1 }],
    ['a fractional metricTargetLimit', { metricTargetLimit: 1.5 }],
    ['resourceUriInSpanName without recordResourceUri', { resourceUriInSpanName: true }],
    ['argument capture without redact', { captureContent: { arguments: true } }],
    ['a non-function redact', { captureContent: { redact: 'yes' } }],
    ['a zero maxLength', { captureContent: { maxLength: 0 } }],
  ])('throws TypeError at construction for %s', (_label, options) => {
    expect(() => telemetry(options as TelemetryOptions)).toThrow(TypeError);
  });

  it('is a named middleware', () => {
    expect(telemetry().middlewareName).toBe('telemetry');
  });
});

describe('the promise path (no async frame in the middleware)', () => {
  const callCtx = () =>
    createContext({
      method: 'tools/call',
      params: { name: 'echo', arguments: {} },
      protocolVersion: LATEST_PROTOCOL_VERSION,
      request: { transport: 'http' },
    });

  /** Everything telemetry recorded for one failed call, without ids and times. */
  async function recordedFailure(terminal: (error: HardenError) => Promise<never>) {
    const states: HardenState[] = [];
    const chain = compose([tm(), stateProbe(states)]);
    const error = new HardenError('ERR_FORBIDDEN', 'no');
    await expect(chain(callCtx(), () => terminal(error))).rejects.toBe(error);
    const spans = await otel.mcpSpans();
    return {
      spans: spans.map((s) => ({
        name: s.name,
        kind: s.kind,
        status: s.status,
        attributes: { ...s.attributes, 'jsonrpc.request.id': undefined },
        ended: s.ended,
      })),
      durations: (await otel.histogramPoints(METRIC_NAMES.operationDuration)).map((p) => ({
        attributes: p.attributes,
        count: p.value.count,
      })),
      refusals: (await otel.counterPoints(METRIC_NAMES.refusals)).map((p) => ({
        attributes: p.attributes,
        value: p.value,
      })),
      traced: states.map((s) => s.trace !== undefined),
    };
  }

  it('records a next() that throws synchronously exactly like one that rejects', async () => {
    const rejected = await recordedFailure(async (error) => {
      throw error;
    });
    await otel.shutdown();
    otel = new Otel();
    const thrown = await recordedFailure((error) => {
      throw error;
    });

    expect(thrown).toEqual(rejected);
    expect(thrown.spans).toHaveLength(1);
    expect(thrown.spans[0]?.name).toBe('tools/call echo');
    expect(thrown.spans[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no' });
    expect(thrown.spans[0]?.ended).toBe(true);
    const jsonRpc = String(ERROR_CODES.ERR_FORBIDDEN.jsonRpc);
    expect(thrown.durations).toEqual([
      {
        attributes: {
          'mcp.method.name': 'tools/call',
          // Not declared with a policy and not answered: kept off metrics as before.
          'gen_ai.tool.name': '_OTHER',
          'gen_ai.operation.name': 'execute_tool',
          'mcp.protocol.version': LATEST_PROTOCOL_VERSION,
          'network.transport': 'tcp',
          'network.protocol.name': 'http',
          'error.type': jsonRpc,
          'rpc.response.status_code': jsonRpc,
        },
        count: 1,
      },
    ]);
    expect(thrown.refusals).toEqual([
      {
        attributes: {
          'mcp.method.name': 'tools/call',
          'gen_ai.tool.name': '_OTHER',
          'error.code': 'ERR_FORBIDDEN',
          'mcp_harden.refusal.source': 'unknown',
        },
        value: 1,
      },
    ]);
    expect(thrown.traced).toEqual([true]);
  });

  it('returns a rejected promise, never a synchronous throw, with and without an SDK', async () => {
    const error = new Error('terminal broke');
    const throwing = (() => {
      throw error;
    }) as () => Promise<never>;
    for (const middleware of [tm(), telemetry({ propagator: w3cPropagator })]) {
      let out: Promise<unknown> | undefined;
      expect(() => {
        out = middleware(callCtx(), throwing);
      }).not.toThrow();
      expect(out).toBeInstanceOf(Promise);
      await expect(out).rejects.toBe(error);
    }
    const [span] = await otel.mcpSpans();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['error.type']).toBe(String(toJsonRpcCode(error)));
  });

  it('ends the span and records the duration before the returned promise settles', async () => {
    const result = { content: [] };
    const middleware = tm();
    const finishedOnResolve = await middleware(callCtx(), async () => result).then((value) => {
      expect(value).toBe(result);
      // SimpleSpanProcessor exports on end(): the span is there without a flush.
      return otel.spanExporter.getFinishedSpans().length;
    });
    expect(finishedOnResolve).toBe(1);

    const error = new HardenError('ERR_RATE_LIMITED');
    const finishedOnReject = await middleware(callCtx(), async () => {
      throw error;
    }).then(
      () => -1,
      (err: unknown) => {
        expect(err).toBe(error);
        return otel.spanExporter.getFinishedSpans().length;
      },
    );
    expect(finishedOnReject).toBe(2);
    const [point] = await otel.histogramPoints(METRIC_NAMES.operationDuration);
    expect(point?.value.count).toBe(1);
  });

  it('runs next() with the request span active and resumes outside it', async () => {
    const middleware = tm();
    const outside = trace.getActiveSpan();
    let inside: string | undefined;
    await middleware(callCtx(), async () => {
      inside = trace.getActiveSpan()?.spanContext().spanId;
      await Promise.resolve();
      expect(trace.getActiveSpan()?.spanContext().spanId).toBe(inside);
      return { content: [] };
    });
    const [span] = await otel.mcpSpans();
    expect(inside).toBe(span?.spanContext().spanId);
    expect(trace.getActiveSpan()).toBe(outside);
  });

  it('adds no link when there is no active span, and a link when the active span is not the parent', async () => {
    const middleware = tm();
    await middleware(callCtx(), async () => ({ content: [] }));
    const outer = otel.tracerProvider.getTracer('http-instrumentation').startSpan('POST /mcp');
    const ctx = createContext({
      method: 'tools/call',
      params: { name: 'echo', arguments: {}, _meta: { traceparent: TRACEPARENT } },
    });
    await context.with(trace.setSpan(context.active(), outer), () =>
      middleware(ctx, async () => ({ content: [] })),
    );
    // The active span as parent (no _meta): no link either.
    await context.with(trace.setSpan(context.active(), outer), () =>
      middleware(callCtx(), async () => ({ content: [] })),
    );
    outer.end();
    const [root, continued, child] = await otel.mcpSpans();
    expect(root?.links).toEqual([]);
    expect(root?.parentSpanContext).toBeUndefined();
    expect(continued?.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(continued?.links.map((l) => l.context.spanId)).toEqual([outer.spanContext().spanId]);
    expect(child?.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(child?.links).toEqual([]);
  });
});

function toJsonRpcCode(error: unknown): number {
  return toJsonRpcError(error).code;
}
