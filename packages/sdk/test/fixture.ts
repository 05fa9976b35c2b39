import type { Middleware } from '@mcp-harden/core';
import {
  type Connection,
  connectInMemory as connectMemory,
  hostMcpOverHttp,
  type McpHttpHost,
} from '@mcp-harden/test-services';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { type HardenedServer, harden } from '../src/index.js';

/** Observations the fixture's tools make, for assertions. */
export interface Probe {
  slowStarted: number;
  slowAborted: number;
  /** Resolved when the slow tool started running. */
  started: Promise<void>;
}

export function newProbe(): Probe {
  const probe = { slowStarted: 0, slowAborted: 0 } as Probe;
  let resolve!: () => void;
  probe.started = new Promise<void>((r) => {
    resolve = r;
  });
  (probe as Probe & { markStarted: () => void }).markStarted = resolve;
  return probe;
}

/** A fixture server with tools, a resource template, a prompt and completion, run through harden(). */
export function buildServer(
  use: readonly Middleware[],
  probe: Probe = newProbe(),
  onError?: (error: unknown) => void,
): HardenedServer<McpServer> {
  const server = new McpServer({ name: 'fixture', version: '1.0.0' });
  const hardened = harden(server, { use, onError });
  const read = hardened.withPolicy({ tags: ['read-only'] });
  read.registerTool(
    'echo',
    { description: 'Echoes text', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  hardened
    .withPolicy({ tags: ['admin'] })
    .registerTool('secret', { description: 'Admin only' }, async () => ({
      content: [{ type: 'text', text: 'the secret' }],
    }));
  server.registerTool('slow', { description: 'Waits until cancelled' }, async (extra) => {
    probe.slowStarted++;
    (probe as Probe & { markStarted: () => void }).markStarted();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30_000);
      extra.signal.addEventListener('abort', () => {
        probe.slowAborted++;
        clearTimeout(timer);
        resolve();
      });
    });
    return { content: [{ type: 'text', text: 'done' }] };
  });
  server.registerTool('ask', { description: 'Asks the user for a name' }, async () => {
    const answer = await server.server.elicitInput({
      message: 'Your name?',
      requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    });
    return { content: [{ type: 'text', text: `hello ${String(answer.content?.name)}` }] };
  });
  read.registerResource(
    'note',
    new ResourceTemplate('notes://{id}', {
      list: async () => ({ resources: [{ uri: 'notes://1', name: 'note 1' }] }),
      complete: { id: async (value) => ['1', '2', '10'].filter((id) => id.startsWith(value)) },
    }),
    { description: 'A note' },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, text: `note ${String(id)}` }] }),
  );
  read.registerPrompt(
    'greet',
    { description: 'Greets', argsSchema: { name: z.string() } },
    async ({ name }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Hello ${name}` } }] }),
  );
  return hardened;
}

function newClient(): Client {
  return new Client(
    { name: 'test-client', version: '1.0.0' },
    { capabilities: { elicitation: { form: {} } } },
  );
}

export type Connected = Connection;

export function connectInMemory(hardened: HardenedServer<McpServer>): Promise<Connected> {
  return connectMemory(hardened, newClient());
}

export type HttpHost = McpHttpHost<HardenedServer<McpServer>>;

/** Hosts fixture servers over Streamable HTTP on loopback, the way the SDK's own examples do. */
export function hostHttp(
  mode: 'stateful' | 'stateless',
  makeServer: () => HardenedServer<McpServer>,
): Promise<HttpHost> {
  return hostMcpOverHttp({ mode, createServer: makeServer });
}

export async function connectHttp(host: HttpHost): Promise<Connected> {
  const client = newClient();
  await client.connect(new StreamableHTTPClientTransport(host.url));
  return {
    client,
    async close() {
      await client.close();
    },
  };
}
