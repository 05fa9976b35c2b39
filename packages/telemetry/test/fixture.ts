import type { Middleware } from '@mcp-harden/core';
import { type HardenedServer, harden } from '@mcp-harden/sdk';
import {
  type Connection,
  connectInMemory as connectMemory,
  hostMcpOverHttp,
} from '@mcp-harden/test-services';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { context, propagation, type Span, type Tracer, trace } from '@opentelemetry/api';
import { z } from 'zod';

/** What the fixture's tools saw, for assertions on context propagation. */
export interface Seen {
  /** Span context active inside the `traced` tool's handler. */
  handlerSpan?: { traceId: string; spanId: string };
  /** Baggage entries visible inside the `traced` tool's handler. */
  baggage?: Record<string, string>;
}

/** A server with a declared tool, an undeclared one, a failing tool, a prompt and a resource. */
export function buildServer(
  use: readonly Middleware[],
  userTracer: Tracer,
  seen: Seen,
): HardenedServer<McpServer> {
  const server = new McpServer({ name: 'telemetry-fixture', version: '1.0.0' });
  const hardened = harden(server, { use, onError: () => {} });
  hardened
    .withPolicy({ tags: ['read-only'] })
    .registerTool(
      'echo',
      { description: 'Echoes text', inputSchema: { text: z.string() } },
      async ({ text }) => ({
        content: [{ type: 'text', text }],
      }),
    );
  server.registerTool('fail', { description: 'Always reports a tool error' }, async () => ({
    content: [{ type: 'text', text: 'backend exploded' }],
    isError: true,
  }));
  server.registerTool('traced', { description: 'Opens a child span' }, async () => {
    const entries = propagation.getBaggage(context.active())?.getAllEntries() ?? [];
    seen.baggage = Object.fromEntries(entries.map(([key, entry]) => [key, entry.value]));
    await userTracer.startActiveSpan('user work', async (span: Span) => {
      seen.handlerSpan = { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
      span.end();
    });
    return { content: [{ type: 'text', text: 'ok' }] };
  });
  hardened
    .withPolicy({})
    .registerPrompt(
      'greet',
      { description: 'Greets', argsSchema: { name: z.string() } },
      async ({ name }) => ({
        messages: [{ role: 'user', content: { type: 'text', text: `Hello ${name}` } }],
      }),
    );
  server.registerResource('config', 'config://app/secret-tenant', { description: 'Config' }, async (uri) => ({
    contents: [{ uri: uri.href, text: 'x=1' }],
  }));
  return hardened;
}

export function newClient(): Client {
  return new Client({ name: 'telemetry-test', version: '1.0.0' });
}

export type Connected = Connection;

export function connectInMemory(hardened: HardenedServer<McpServer>): Promise<Connected> {
  return connectMemory(hardened, newClient());
}

export interface HttpHost {
  url: URL;
  /** Ids of the HTTP server spans the host opened, in order. */
  httpSpans: Array<{ traceId: string; spanId: string }>;
  close(): Promise<void>;
}

/**
 * Hosts the fixture over stateful Streamable HTTP on 127.0.0.1. When `httpTracer` is given,
 * each HTTP request runs inside an HTTP SERVER span, as an HTTP instrumentation would do.
 */
export async function hostHttp(
  makeServer: () => HardenedServer<McpServer>,
  httpTracer?: Tracer,
): Promise<HttpHost> {
  const httpSpans: HttpHost['httpSpans'] = [];
  const host = await hostMcpOverHttp({
    mode: 'stateful',
    createServer: makeServer,
    around: async (req, res, handle) => {
      if (!httpTracer) return handle();
      const span = httpTracer.startSpan(`${req.method} /mcp`, { kind: 2 });
      httpSpans.push({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId });
      res.on('close', () => span.end());
      await context.with(trace.setSpan(context.active(), span), handle);
    },
  });
  return { url: host.url, httpSpans, close: () => host.close() };
}

export async function connectHttp(host: HttpHost, headers: Record<string, string> = {}): Promise<Connected> {
  const client = newClient();
  await client.connect(new StreamableHTTPClientTransport(host.url, { requestInit: { headers } }));
  return {
    client,
    async close() {
      await client.close();
    },
  };
}
