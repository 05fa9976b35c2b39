import { defineMiddleware, type Middleware, type Principal } from '@mcp-harden/core';
import { type HardenedServer, harden } from '@mcp-harden/sdk';
import { hostMcpOverHttp, type McpHttpHost } from '@mcp-harden/test-services';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

/** Stands in for the auth package: every request is made by `principal`. */
export function authenticateAs(principal: Principal): Middleware {
  return defineMiddleware('test-auth', async function testAuth(ctx, next) {
    ctx.principal = principal;
    return next();
  });
}

/** Observations of the `slow` tool. */
export interface SlowProbe {
  running: number;
  maxRunning: number;
  started: number;
  aborted: number;
  /** Lets every waiting `slow` call finish. */
  open(): void;
}

export function newSlowProbe(): SlowProbe {
  const waiters: Array<() => void> = [];
  let opened = false;
  const probe = {
    running: 0,
    maxRunning: 0,
    started: 0,
    aborted: 0,
    open() {
      opened = true;
      for (const wake of waiters.splice(0)) wake();
    },
    wait(signal: AbortSignal): Promise<'done' | 'aborted'> {
      if (opened) return Promise.resolve('done');
      return new Promise((resolve) => {
        waiters.push(() => resolve('done'));
        signal.addEventListener('abort', () => resolve('aborted'), { once: true });
      });
    },
  };
  return probe;
}

/** An McpServer with `echo` and `slow` tools behind `use`. */
export function buildServer(use: Middleware[], probe: SlowProbe = newSlowProbe()): HardenedServer<McpServer> {
  const server = new McpServer({ name: 'rate-limit-fixture', version: '1.0.0' });
  const hardened = harden(server, { use });
  server.registerTool('echo', { description: 'Answers ok' }, async () => ({
    content: [{ type: 'text', text: 'ok' }],
  }));
  server.registerTool('slow', { description: 'Waits until released or cancelled' }, async (extra) => {
    probe.started++;
    probe.running++;
    probe.maxRunning = Math.max(probe.maxRunning, probe.running);
    try {
      const how = await (probe as SlowProbe & { wait(s: AbortSignal): Promise<string> }).wait(extra.signal);
      if (how === 'aborted') probe.aborted++;
      return { content: [{ type: 'text', text: how }] };
    } finally {
      probe.running--;
    }
  });
  return hardened;
}

export interface Connected {
  client: Client;
  close(): Promise<void>;
}

/** Connects an official SDK client in memory; `wrap` may decorate the server-side transport. */
export async function connectInMemory(
  hardened: HardenedServer<McpServer>,
  wrap: (t: Transport) => Transport = (t) => t,
): Promise<Connected> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await hardened.connect(wrap(serverSide), { kind: 'memory' });
  const client = new Client({ name: 'rate-limit-test', version: '1.0.0' });
  await client.connect(clientSide);
  return {
    client,
    async close() {
      await client.close();
      await hardened.server.close();
    },
  };
}

/** The outcome of one `tools/call`: `ok`, or the stable error code from `error.data.code`. */
export async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    if (err instanceof McpError) {
      const code = (err.data as { code?: string } | undefined)?.code;
      return code ?? `JSONRPC_${err.code}`;
    }
    return 'client-error';
  }
}

export function tally(outcomes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  return counts;
}

export type HttpHost = McpHttpHost<HardenedServer<McpServer>>;

/** Hosts one hardened server per session over Streamable HTTP on 127.0.0.1 (stateful mode). */
export function hostHttp(makeServer: () => HardenedServer<McpServer>): Promise<HttpHost> {
  return hostMcpOverHttp({ mode: 'stateful', createServer: makeServer });
}

export async function connectHttp(host: HttpHost): Promise<Connected> {
  const client = new Client({ name: 'rate-limit-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(host.url));
  return {
    client,
    async close() {
      await client.close();
    },
  };
}
