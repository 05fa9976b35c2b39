import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Middleware } from '@mcp-harden/core';
import { type HardenedServer, harden, type PolicyMap } from '@mcp-harden/sdk';
import { hostMcpOverHttp } from '@mcp-harden/test-services';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { z } from 'zod';

export const ISSUER = 'https://issuer.test.example/';
export const AUDIENCE = 'https://notes.test.example/mcp';

/** A temporary directory removed by `cleanup()`. */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-harden-policy-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A local ES256 key: its public JWKS is written to `jwksFile`, `mint()` signs tokens. */
export async function localIssuer(dir: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), alg: 'ES256', kid: 'test-1', use: 'sig' };
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  return {
    jwksFile,
    jwks: { keys: [jwk] },
    async mint(claims: Record<string, unknown>): Promise<string> {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'test-1' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
    },
  };
}

/** How the notes tools are registered: with code policies (`withPolicy`) or none (the file's map). */
export type Registration = { policyFor?: (kind: 'tool' | 'resource' | 'prompt', name: string) => object };

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

/** The notes server of these tests: tools, a resource template and a prompt. */
export function buildNotes(
  pipeline: { use: readonly Middleware[]; policies?: PolicyMap },
  registration: Registration = {},
): HardenedServer<McpServer> {
  const server = new McpServer({ name: 'notes', version: '1.0.0' });
  const hardened = harden(server, {
    use: pipeline.use,
    ...(pipeline.policies ? { policies: pipeline.policies } : {}),
    onError: () => {},
  });
  const reg = (kind: 'tool' | 'resource' | 'prompt', name: string) =>
    registration.policyFor ? hardened.withPolicy(registration.policyFor(kind, name)) : server;
  reg('tool', 'notes.search').registerTool(
    'notes.search',
    { description: 'Searches notes', inputSchema: { query: z.string() } },
    async ({ query }) => text(`results for ${query}`),
  );
  reg('tool', 'notes.write').registerTool(
    'notes.write',
    { description: 'Writes a note', inputSchema: { tenant: z.string().optional(), body: z.string() } },
    async ({ body }) => text(`saved ${body.length} chars`),
  );
  reg('tool', 'admin.purge').registerTool('admin.purge', { description: 'Purges' }, async () =>
    text('purged'),
  );
  reg('tool', 'debug.env').registerTool('debug.env', { description: 'Leaks a key' }, async () =>
    text('config: aws_access_key_id=AKIAIOSFODNN7EXAMPLE region=eu-west-1'),
  );
  reg('tool', 'legacy.export').registerTool('legacy.export', { description: 'Switched off' }, async () =>
    text('exported'),
  );
  reg('resource', 'notes://{tenant}/{id}').registerResource(
    'note',
    new ResourceTemplate('notes://{tenant}/{id}', { list: undefined }),
    { description: 'A note' },
    async (uri) => ({ contents: [{ uri: uri.href, text: `note ${uri.href}` }] }),
  );
  reg('prompt', 'summarize').registerPrompt('summarize', { description: 'Summarises' }, async () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'Summarise my notes' } }],
  }));
  return hardened;
}

function newClient(): Client {
  return new Client({ name: 'policy-test', version: '1.0.0' });
}

/** Connects the official SDK client in memory. */
export async function connectInMemory(hardened: HardenedServer<McpServer>) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await hardened.connect(serverSide, { kind: 'memory' });
  const client = newClient();
  await client.connect(clientSide);
  return {
    client,
    async close() {
      await client.close();
      await hardened.close();
    },
  };
}

/** Serves a fresh hardened server per request (stateless Streamable HTTP) on 127.0.0.1. */
export async function hostHttp(make: () => HardenedServer<McpServer>) {
  const host = await hostMcpOverHttp({ mode: 'stateless', createServer: make });
  return {
    url: host.url,
    async connect(token: string) {
      const client = newClient();
      await client.connect(
        new StreamableHTTPClientTransport(host.url, {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      return client;
    },
    close: () => host.close(),
  };
}

/** A call's outcome in a comparable form: the result, or the error's stable code and message. */
export async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await run() };
  } catch (err) {
    const e = err as { code?: unknown; message?: string; data?: { code?: unknown } };
    return { error: { rpc: e.code, code: e.data?.code, message: e.message } };
  }
}
