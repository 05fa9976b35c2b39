import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineMiddleware, errorCodeOf, HardenError, type Middleware } from '@mcp-harden/core';
import { type HardenedServer, harden } from '@mcp-harden/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** One line per request: method, target, outcome and latency. Never arguments. */
export function logRequests(
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Middleware {
  return defineMiddleware('log', async function logRequests(ctx, next) {
    const describe = `${ctx.method}${ctx.target ? ` ${ctx.target}` : ''}`;
    try {
      const result = await next();
      write(`[mcp] ${describe} ok ${(performance.now() - ctx.startedAt).toFixed(1)}ms`);
      return result;
    } catch (err) {
      write(
        `[mcp] ${describe} refused ${errorCodeOf(err)} ${(performance.now() - ctx.startedAt).toFixed(1)}ms`,
      );
      throw err;
    }
  });
}

/** Refuses tools tagged `admin` unless the request carries `x-demo-role: admin` (a stand-in until auth lands). */
export const demoAdminGate = defineMiddleware('admin-gate', async function demoAdminGate(ctx, next) {
  if (ctx.policy?.tags?.includes('admin') && ctx.request.headers?.['x-demo-role'] !== 'admin') {
    throw new HardenError('ERR_FORBIDDEN', 'This tool needs the admin role');
  }
  return next();
});

/** Builds the quickstart's MCP server, hardened with the given middleware. */
export function buildQuickstartServer(use: readonly Middleware[]): HardenedServer<McpServer> {
  const server = new McpServer({ name: 'mcp-harden-quickstart', version: '0.1.0' });
  const hardened = harden(server, { use });
  hardened
    .withPolicy({ tags: ['read-only'] })
    .registerTool(
      'echo',
      { description: 'Echoes the text back', inputSchema: { text: z.string().max(1000) } },
      async ({ text }) => ({ content: [{ type: 'text', text }] }),
    );
  hardened
    .withPolicy({ tags: ['read-only'] })
    .registerTool('time', { description: 'Current server time (ISO 8601)' }, async () => ({
      content: [{ type: 'text', text: new Date().toISOString() }],
    }));
  hardened
    .withPolicy({ tags: ['admin'] })
    .registerTool('admin_reset', { description: 'Resets demo data (admin only)' }, async () => ({
      content: [{ type: 'text', text: 'reset done' }],
    }));
  return hardened;
}

async function readBody(req: IncomingMessage, limit = 1_000_000): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HardenError('ERR_PAYLOAD_TOO_LARGE');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A running quickstart server. */
export interface RunningServer {
  url: URL;
  close(): Promise<void>;
}

/**
 * Serves the quickstart over Streamable HTTP (stateless, a server per request, as the SDK's
 * example does) on `host:port`, MCP at `/mcp`, liveness at `/health`.
 */
export async function startQuickstart(options: {
  host?: string;
  port?: number;
  log?: (line: string) => void;
}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const middleware = [logRequests(options.log), demoAdminGate];
  const http: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    try {
      const body = await readBody(req);
      const hardened = buildQuickstartServer(middleware);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void hardened.server.close());
      await hardened.connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (err) {
      if (!res.headersSent) {
        const status = err instanceof HardenError ? err.httpStatus : 500;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Request refused' } }),
        );
      }
    }
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 3000, host, resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: new URL(`http://${host}:${port}/mcp`),
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
