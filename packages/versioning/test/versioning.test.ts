import { compose, createContext, HardenError, type Middleware } from '@mcp-harden/core';
import { harden } from '@mcp-harden/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  DEPRECATION_META_KEY,
  parseVersionedName,
  registerToolVersions,
  VERSION_META_KEY,
  versionedName,
  versioning,
} from '../src/index.js';

const DAY = 24 * 60 * 60 * 1000;
const SUNSET = '2026-06-30';

interface Clock {
  at: number;
}

function versions(clock: Clock) {
  return versioning({
    now: () => clock.at,
    tools: {
      search: {
        versions: {
          '1.0.0': { deprecated: { sunset: SUNSET, replacement: 'search' } },
          '2.0.0': {},
        },
      },
    },
  });
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A hardened McpServer with search 1.0.0 and 2.0.0 side by side, and the official client in memory. */
async function connect(use: Middleware[]) {
  const server = new McpServer({ name: 'versions', version: '1.0.0' });
  const hardened = harden(server, { use });
  registerToolVersions('search', {
    '1.0.0': (name) =>
      server.registerTool(
        name,
        { description: 'Search (v1)', inputSchema: { q: z.string() } },
        async ({ q }) => ({
          content: [{ type: 'text', text: `v1:${q}` }],
        }),
      ),
    '2.0.0': (name) =>
      server.registerTool(
        name,
        { description: 'Search (v2)', inputSchema: { query: z.string(), limit: z.number().optional() } },
        async ({ query }) => ({ content: [{ type: 'text', text: `v2:${query}` }] }),
      ),
  });
  server.registerTool('ping', { description: 'Unversioned' }, async () => ({
    content: [{ type: 'text', text: 'pong' }],
  }));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await hardened.connect(serverSide, { kind: 'memory' });
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  closers.push(async () => {
    await client.close();
    await hardened.close();
  });
  return client;
}

const textOf = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]!.text;

describe('versions side by side through the official SDK client', () => {
  it('serves the latest version under the bare name and older ones under <name>.v<version>', async () => {
    const clock = { at: Date.parse('2026-01-01T00:00:00Z') };
    const client = await connect([versions(clock)]);
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(['ping', 'search', 'search.v1.0.0', 'search.v2.0.0']);
    expect(byName.search!._meta).toEqual({
      'mcp-harden/version': '2.0.0',
      'mcp-harden/tool': 'search',
      'mcp-harden/latest': true,
    });
    expect(byName['search.v1.0.0']!._meta).toMatchObject({
      'mcp-harden/version': '1.0.0',
      'mcp-harden/latest': false,
      [DEPRECATION_META_KEY]: { tool: 'search', version: '1.0.0', sunset: SUNSET, replacement: 'search' },
    });
    expect(byName.ping!._meta).toBeUndefined();

    const latest = await client.callTool({ name: 'search', arguments: { query: 'cats' } });
    expect(textOf(latest)).toBe('v2:cats');
    expect(latest._meta).toEqual({ [VERSION_META_KEY]: '2.0.0' });
    const pinned = await client.callTool({ name: 'search.v1.0.0', arguments: { q: 'cats' } });
    expect(textOf(pinned)).toBe('v1:cats');
  });

  it('puts the deprecation notice in every result of a deprecated version', async () => {
    const clock = { at: Date.parse('2026-06-29T23:59:59Z') };
    const client = await connect([versions(clock)]);
    for (const q of ['a', 'b']) {
      const result = await client.callTool({ name: 'search.v1.0.0', arguments: { q } });
      expect(result._meta?.[DEPRECATION_META_KEY]).toMatchObject({ sunset: SUNSET, replacement: 'search' });
      expect((result._meta as Record<string, { notice: string }>)[DEPRECATION_META_KEY]!.notice).toContain(
        'deprecated',
      );
    }
  });

  it('refuses calls after the sunset with ERR_TOOL_SUNSET naming the replacement, and hides the version', async () => {
    const clock = { at: Date.parse('2026-01-01T00:00:00Z') };
    const client = await connect([versions(clock)]);
    expect(textOf(await client.callTool({ name: 'search.v1.0.0', arguments: { q: 'x' } }))).toBe('v1:x');
    clock.at = Date.parse(`${SUNSET}T00:00:00Z`);
    const err = await client
      .callTool({ name: 'search.v1.0.0', arguments: { q: 'x' } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: -32014,
      data: {
        code: 'ERR_TOOL_SUNSET',
        tool: 'search',
        version: '1.0.0',
        sunset: SUNSET,
        replacement: 'search',
      },
    });
    expect((err as Error).message).toContain('use search');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['ping', 'search', 'search.v2.0.0']);
    expect(textOf(await client.callTool({ name: 'search', arguments: { query: 'x' } }))).toBe('v2:x');
  });

  it('checks a version pinned in _meta against the version the name resolves to', async () => {
    const client = await connect([versions({ at: 0 })]);
    const same = await client.callTool({
      name: 'search',
      arguments: { query: 'q' },
      _meta: { [VERSION_META_KEY]: '2.0.0' },
    });
    expect(textOf(same)).toBe('v2:q');
    const other = await client
      .callTool({ name: 'search', arguments: { query: 'q' }, _meta: { [VERSION_META_KEY]: '1.0.0' } })
      .catch((e: unknown) => e);
    expect(other).toMatchObject({
      data: { code: 'ERR_INVALID_PARAMS', call: 'search.v1.0.0', resolved: '2.0.0' },
    });
    const unknown = await client
      .callTool({ name: 'search', arguments: { query: 'q' }, _meta: { [VERSION_META_KEY]: '9.9.9' } })
      .catch((e: unknown) => e);
    expect(unknown).toMatchObject({ data: { code: 'ERR_NOT_FOUND', versions: ['1.0.0', '2.0.0'] } });
    const bad = await client
      .callTool({ name: 'search', arguments: { query: 'q' }, _meta: { [VERSION_META_KEY]: 2 } })
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ data: { code: 'ERR_INVALID_PARAMS' } });
  });

  it('sets ctx.state.deprecation for audit and telemetry, also on a sunset refusal', async () => {
    const seen: unknown[] = [];
    const recorder: Middleware = async (ctx, next) => {
      try {
        return await next();
      } finally {
        if (ctx.method === 'tools/call') seen.push(ctx.state.deprecation);
      }
    };
    const clock = { at: Date.parse('2026-01-01T00:00:00Z') };
    const client = await connect([recorder, versions(clock)]);
    await client.callTool({ name: 'search', arguments: { query: 'q' } });
    await client.callTool({ name: 'search.v1.0.0', arguments: { q: 'q' } });
    clock.at += 365 * DAY;
    await client.callTool({ name: 'search.v1.0.0', arguments: { q: 'q' } }).catch(() => undefined);
    const expected = { tool: 'search', version: '1.0.0', sunset: SUNSET, replacement: 'search' };
    expect(seen).toEqual([undefined, expected, expected]);
  });
});

describe('versioning() without an SDK', () => {
  it('leaves calls to unknown tools and other methods untouched', async () => {
    const chain = compose([versions({ at: 0 })]);
    const result = await chain(
      createContext({ method: 'tools/call', params: { name: 'ping' } }),
      async () => ({
        content: [],
      }),
    );
    expect(result).toEqual({ content: [] });
    const prompts = await chain(createContext({ method: 'prompts/list' }), async () => ({ prompts: [] }));
    expect(prompts).toEqual({ prompts: [] });
  });

  it('throws HardenError with source versioning', async () => {
    const chain = compose([versions({ at: Date.parse('2030-01-01') })]);
    const err = await chain(
      createContext({ method: 'tools/call', params: { name: 'search.v1.0.0' } }),
      async () => ({
        content: [],
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HardenError);
    expect(err).toMatchObject({ code: 'ERR_TOOL_SUNSET', source: 'versioning' });
  });

  it('throws TypeError at construction on misconfiguration', () => {
    expect(() => versioning(undefined as never)).toThrow(TypeError);
    expect(() => versioning({ tools: { search: { versions: {} } } })).toThrow(/at least one version/);
    expect(() => versioning({ tools: { search: { versions: { v1: {} } } } })).toThrow(/semantic version/);
    expect(() =>
      versioning({ tools: { search: { versions: { '1.0.0': { deprecated: { sunset: 'soon' } } } } } }),
    ).toThrow(/sunset/);
    expect(() =>
      versioning({ tools: { search: { versions: { '1.0.0': { deprecation: {} } as never } } } }),
    ).toThrow(/unknown option deprecation/);
    // A date-time without a zone would depend on the server's local time.
    expect(() =>
      versioning({
        tools: { search: { versions: { '1.0.0': { deprecated: { sunset: '2026-06-30T12:00' } } } } },
      }),
    ).toThrow(/sunset/);
    expect(() =>
      versioning({
        tools: { search: { versions: { '1.0.0': { deprecated: { sunset: '2026-06-30T12:00:00+02:00' } } } } },
      }),
    ).not.toThrow();
    expect(() => versioning({ tools: {}, now: 5 as never })).toThrow(TypeError);
    expect(() => versioning({ tools: { 'bad name': { versions: { '1.0.0': {} } } } })).toThrow(TypeError);
  });
});

describe('version names', () => {
  it('round-trips versioned names and refuses invalid ones', () => {
    expect(versionedName('search', '1.0.0')).toBe('search.v1.0.0');
    expect(versionedName('search', '2.0.0-beta.1')).toBe('search.v2.0.0-beta.1');
    expect(parseVersionedName('search.v2.0.0-beta.1')).toEqual({ name: 'search', version: '2.0.0-beta.1' });
    expect(parseVersionedName('a.v1.search.v1.2.3')).toEqual({ name: 'a.v1.search', version: '1.2.3' });
    expect(parseVersionedName('search')).toBeUndefined();
    expect(() => versionedName('search', '1.0')).toThrow(TypeError);
    expect(() => versionedName('search', '1.0.0+build')).toThrow(TypeError);
  });

  it('registers the highest version under the bare name', () => {
    const calls: string[] = [];
    const names = registerToolVersions('search', {
      '1.10.0': (name) => calls.push(`${name}=1.10.0`),
      '1.9.0': (name) => calls.push(`${name}=1.9.0`),
      '2.0.0-rc.1': (name) => calls.push(`${name}=rc`),
    });
    expect(names).toEqual(['search', 'search.v2.0.0-rc.1', 'search.v1.10.0', 'search.v1.9.0']);
    expect(calls).toEqual([
      'search=rc',
      'search.v2.0.0-rc.1=rc',
      'search.v1.10.0=1.10.0',
      'search.v1.9.0=1.9.0',
    ]);
    expect(() => registerToolVersions('search', {})).toThrow(TypeError);
    expect(() => registerToolVersions('search', { latest: () => undefined })).toThrow(TypeError);
  });
});
