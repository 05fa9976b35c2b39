import type { ListToolsResult } from '@mcp-harden/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  assertSurfaceMatchesLock,
  captureSurface,
  fingerprint,
  LockFileError,
  listSurface,
  readLock,
  SurfaceLockError,
  serializeLock,
} from '../src/index.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Lists a real McpServer through the official client, in memory. */
async function liveSurface(build: (server: McpServer) => void) {
  const server = new McpServer({ name: 'lock', version: '1.0.0' });
  build(server);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'lock-test', version: '1.0.0' });
  await client.connect(clientSide);
  closers.push(async () => {
    await client.close();
    await server.close();
  });
  return listSurface(client);
}

function base(server: McpServer, description = 'Searches the catalogue') {
  server.registerTool(
    'search',
    {
      description,
      inputSchema: { query: z.string(), limit: z.number().int().optional() },
      outputSchema: { hits: z.array(z.string()) },
      annotations: { readOnlyHint: true },
    },
    async () => ({ content: [], structuredContent: { hits: [] } }),
  );
  server.registerPrompt(
    'greet',
    { description: 'Greets', argsSchema: { name: z.string() } },
    async ({ name }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Hello ${name}` } }],
    }),
  );
  server.registerResource(
    'note',
    new ResourceTemplate('notes://{id}', { list: undefined }),
    { description: 'A note' },
    async (uri) => ({ contents: [{ uri: uri.href, text: 'note' }] }),
  );
}

describe('captureSurface on a live server', () => {
  it('fingerprints each part separately and stores the canonical schemas', async () => {
    const surface = await liveSurface((s) => base(s));
    const lock = captureSurface(surface);
    const tool = lock.tools.search!;
    expect(Object.keys(tool.fingerprints).sort()).toEqual([
      '_meta',
      'annotations',
      'description',
      'inputSchema',
      'name',
      'outputSchema',
      'title',
    ]);
    expect(tool.fingerprints.description).toBe(fingerprint('Searches the catalogue'));
    expect(tool.fingerprints.inputSchema).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(tool.inputSchema).toMatchObject({ type: 'object', required: ['query'] });
    expect(Object.keys(lock.prompts)).toEqual(['greet']);
    expect(lock.resourceTemplates.note).toMatchObject({ uriTemplate: 'notes://{id}' });
  });

  it('writes byte-identical lock files for the same surface and reads them back', async () => {
    const a = serializeLock(captureSurface(await liveSurface((s) => base(s))));
    const b = serializeLock(captureSurface(await liveSurface((s) => base(s))));
    expect(a).toBe(b);
    expect(a.startsWith('{\n  "lockfileVersion": 1,')).toBe(true);
    expect(serializeLock(readLock(a))).toBe(a);
  });

  it('sees a description changed by an invisible character on a live server as risky', async () => {
    const lock = captureSurface(await liveSurface((s) => base(s)));
    const live = await liveSurface((s) => base(s, 'Searches the\u2060 catalogue'));
    expect(() => assertSurfaceMatchesLock(lock, live)).toThrow(SurfaceLockError);
    try {
      assertSurfaceMatchesLock(lock, live);
    } catch (err) {
      expect((err as SurfaceLockError).diff.unaccepted.map((c) => [c.id, c.level])).toEqual([
        ['tool:search:description-changed', 'risky'],
      ]);
      expect((err as Error).message).toContain('U+2060');
    }
  });
});

describe('readLock', () => {
  const good = () =>
    JSON.parse(serializeLock(captureSurface({ tools: [{ name: 'a', inputSchema: { type: 'object' } }] })));

  it('refuses a lock whose stored part no longer matches its fingerprint', () => {
    const lock = good();
    lock.tools.a.description = 'edited by hand';
    expect(() => readLock(lock)).toThrow(LockFileError);
    expect(() => readLock(lock)).toThrow(/tools\.a\.fingerprints\.description/);
  });

  it('names the field of a malformed lock', () => {
    expect(() => readLock('{not json')).toThrow(/not valid JSON/);
    expect(() => readLock({ ...good(), lockfileVersion: 2 })).toThrow(/lockfileVersion/);
    expect(() => readLock({ ...good(), extra: true })).toThrow(/extra: unknown key/);
    expect(() => readLock({ ...good(), accepted: [42] })).toThrow(/accepted\[0\]/);
    expect(() => readLock({ ...good(), tools: [] })).toThrow(/tools: must be an object/);
  });

  it('accepts ids as strings or { id, reason }', () => {
    const lock = readLock({
      ...good(),
      accepted: ['tool:a:removed', { id: 'tool:b:removed', reason: 'PLAT-1' }],
    });
    expect(lock.accepted).toEqual([{ id: 'tool:a:removed' }, { id: 'tool:b:removed', reason: 'PLAT-1' }]);
  });
});

describe('assertSurfaceMatchesLock', () => {
  const lock = captureSurface({ tools: [{ name: 'a', description: 'A', inputSchema: { type: 'object' } }] });

  it('refuses to start on an unaccepted risky change, warns in warn mode', () => {
    const live = { tools: [{ name: 'a', description: 'B', inputSchema: { type: 'object' } }] };
    expect(() => assertSurfaceMatchesLock(lock, live)).toThrow(SurfaceLockError);
    const warnings: string[] = [];
    const diff = assertSurfaceMatchesLock(lock, live, { mode: 'warn', onWarning: (r) => warnings.push(r) });
    expect(diff.ok).toBe(false);
    expect(warnings[0]).toContain('description changed');
  });

  it('passes a compatible change with a warning, and refuses it when strict', () => {
    const live = {
      tools: [
        {
          name: 'a',
          description: 'A',
          inputSchema: { type: 'object', properties: { x: { type: 'string' } } },
        },
      ],
    };
    const warnings: string[] = [];
    expect(assertSurfaceMatchesLock(lock, live, { onWarning: (r) => warnings.push(r) }).ok).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(() => assertSurfaceMatchesLock(lock, live, { strict: true })).toThrow(SurfaceLockError);
    expect(() => assertSurfaceMatchesLock(lock, live, { mode: 'loud' as never })).toThrow(TypeError);
  });
});

describe('listSurface', () => {
  it('follows cursors, skips lists the server does not declare, and treats -32601 as empty', async () => {
    const pages: Record<string, ListToolsResult> = {
      start: { tools: [{ name: 'a', inputSchema: { type: 'object' } }], nextCursor: 'p2' },
      p2: { tools: [{ name: 'b', inputSchema: { type: 'object' } }] },
    };
    let promptsCalled = false;
    const surface = await listSurface({
      getServerCapabilities: () => ({ tools: {}, resources: {} }),
      listTools: async (params) => pages[params?.cursor ?? 'start']!,
      listPrompts: async () => {
        promptsCalled = true;
        return { prompts: [] };
      },
      listResourceTemplates: async () => {
        throw Object.assign(new Error('Method not found'), { code: -32601 });
      },
    });
    expect((surface.tools as unknown as Array<{ name: string }>).map((t) => t.name)).toEqual(['a', 'b']);
    expect(promptsCalled).toBe(false);
    expect(surface.resourceTemplates).toEqual([]);
  });

  it('stops a server that always returns a cursor', async () => {
    let calls = 0;
    const endless = listSurface({
      listTools: async () => {
        calls++;
        return { tools: [], nextCursor: 'again' };
      },
    });
    await expect(endless).rejects.toThrow(/more than 1000 pages/);
    expect(calls).toBe(1000);
  });

  it('passes other listing errors through', async () => {
    await expect(
      listSurface({
        listTools: async () => {
          throw Object.assign(new Error('boom'), { code: -32603 });
        },
      }),
    ).rejects.toThrow('boom');
  });
});
