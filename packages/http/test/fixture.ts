import { HardenError, type Middleware } from '@mcp-harden/core';
import { type HardenedServer, harden } from '@mcp-harden/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

/** Signals the fixture's tools give, so tests wait on events rather than time. */
export class Gate {
  #open!: () => void;
  readonly opened = new Promise<void>((resolve) => {
    this.#open = resolve;
  });
  open(): void {
    this.#open();
  }
}

export interface Probe {
  aborted: number;
  abortedSignal: Gate;
  hanging: number;
  /** Opened when `hanging` reaches `hangTarget`. */
  hangTarget: number;
  hangReached: Gate;
}

export function newProbe(hangTarget = 1): Probe {
  return { aborted: 0, abortedSignal: new Gate(), hanging: 0, hangTarget, hangReached: new Gate() };
}

/** A refusing middleware driven by the tool name, to exercise HTTP status mapping. */
export const refusals: Middleware = async (ctx, next) => {
  if (ctx.method !== 'tools/call') return next();
  if (ctx.target === 'needs-scope') {
    throw new HardenError('ERR_INSUFFICIENT_SCOPE', 'Insufficient scope', {
      data: { requiredScopes: ['notes:write'] },
    });
  }
  if (ctx.target === 'limited') {
    throw new HardenError('ERR_RATE_LIMITED', 'Rate limit exceeded', {
      data: { retryAfterMs: 2000 },
      httpHeaders: { 'Retry-After': '2' },
    });
  }
  return next();
};

export function buildServer(
  use: readonly Middleware[],
  probe: Probe = newProbe(),
): HardenedServer<McpServer> {
  const server = new McpServer({ name: 'http-fixture', version: '1.0.0' });
  const hardened = harden(server, { use });
  hardened
    .withPolicy({ tags: ['read'] })
    .registerTool(
      'echo',
      { description: 'Echoes text', inputSchema: { text: z.string() } },
      async ({ text }, extra) => ({
        content: [{ type: 'text', text }],
        structuredContent: {
          text,
          principal: (extra.authInfo?.extra?.principal as { subject?: string })?.subject ?? null,
          session: extra.sessionId ?? null,
        },
      }),
    );
  server.registerTool('needs-scope', { description: 'refused by middleware' }, async () => ({ content: [] }));
  server.registerTool('limited', { description: 'refused by middleware' }, async () => ({ content: [] }));
  hardened
    .withPolicy({ timeoutMs: 50 })
    .registerTool('hang', { description: 'Waits until aborted' }, async (extra) => {
      if (++probe.hanging >= probe.hangTarget) probe.hangReached.open();
      await new Promise<void>((resolve) => {
        extra.signal.addEventListener('abort', () => {
          probe.aborted++;
          probe.abortedSignal.open();
          resolve();
        });
      });
      return { content: [{ type: 'text', text: 'aborted' }] };
    });
  server.registerTool('ask', { description: 'Asks the client for input' }, async () => {
    try {
      const answer = await server.server.elicitInput({
        message: 'Name?',
        requestedSchema: { type: 'object', properties: { name: { type: 'string' } } },
      });
      return { content: [{ type: 'text', text: `answer ${answer.action}` }] };
    } catch (err) {
      return { content: [{ type: 'text', text: `no channel: ${(err as Error).message}` }], isError: true };
    }
  });
  return hardened;
}

export async function connect(url: URL, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client(
    { name: 'http-test', version: '1.0.0' },
    { capabilities: { elicitation: { form: {} } } },
  );
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  return client;
}
