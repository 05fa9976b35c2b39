import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rbac } from '../src/index.js';
import {
  buildServer,
  connectAs,
  fixtureRules,
  type HttpHost,
  hostHttp,
  ROLES,
  type Role,
  TENANTS,
  type Tenant,
  testPrincipal,
} from './fixture.js';

/** One cell of the matrix: a use of one target, and who may do it (written out by hand). */
interface Cell {
  name: string;
  kind: 'tool' | 'prompt' | 'resource';
  run(client: Client, own: Tenant, other: Tenant): Promise<unknown>;
  allowed(tenant: Tenant, role: Role): boolean;
}

const always = () => true;
const never = () => false;
const writers = (_t: Tenant, r: Role) => r !== 'viewer';
const admins = (_t: Tenant, r: Role) => r === 'admin';

const call =
  (name: string, args: Record<string, unknown> = {}) =>
  (c: Client) =>
    c.callTool({ name, arguments: args });

const cells: Cell[] = [
  { name: 'tool ping', kind: 'tool', run: call('ping'), allowed: always },
  {
    name: 'tool notes.search in own tenant',
    kind: 'tool',
    run: (c, own) => call('notes.search', { tenant: own })(c),
    allowed: always,
  },
  {
    name: 'tool notes.search in other tenant',
    kind: 'tool',
    run: (c, _o, other) => call('notes.search', { tenant: other })(c),
    allowed: never,
  },
  { name: 'tool notes.search naming no tenant', kind: 'tool', run: call('notes.search'), allowed: never },
  {
    name: 'tool notes.write in own tenant',
    kind: 'tool',
    run: (c, own) => call('notes.write', { tenant: own, body: 'x' })(c),
    allowed: writers,
  },
  {
    name: 'tool notes.write in other tenant',
    kind: 'tool',
    run: (c, _o, other) => call('notes.write', { tenant: other, body: 'x' })(c),
    allowed: never,
  },
  { name: 'tool notes.purge', kind: 'tool', run: call('notes.purge'), allowed: admins },
  {
    name: 'tool billing.report',
    kind: 'tool',
    run: call('billing.report'),
    allowed: (t, r) => t === 'acme' && r === 'admin',
  },
  {
    name: 'resource notes://own/1',
    kind: 'resource',
    run: (c, own) => c.readResource({ uri: `notes://${own}/1` }),
    allowed: always,
  },
  {
    name: 'resource notes://other/1',
    kind: 'resource',
    run: (c, _o, other) => c.readResource({ uri: `notes://${other}/1` }),
    allowed: never,
  },
  {
    name: 'resource config://app',
    kind: 'resource',
    run: (c) => c.readResource({ uri: 'config://app' }),
    allowed: admins,
  },
  {
    name: 'resource status://health (no rule)',
    kind: 'resource',
    run: (c) => c.readResource({ uri: 'status://health' }),
    allowed: never,
  },
  {
    name: 'prompt summarize own tenant',
    kind: 'prompt',
    run: (c, own) => c.getPrompt({ name: 'summarize', arguments: { tenant: own } }),
    allowed: always,
  },
  {
    name: 'prompt summarize other tenant',
    kind: 'prompt',
    run: (c, _o, other) => c.getPrompt({ name: 'summarize', arguments: { tenant: other } }),
    allowed: never,
  },
  {
    name: 'prompt admin-brief',
    kind: 'prompt',
    run: (c) => c.getPrompt({ name: 'admin-brief', arguments: { topic: 'q3' } }),
    allowed: writers,
  },
  {
    name: 'completion of notes://{tenant}/{id} in own tenant',
    kind: 'resource',
    run: (c, own) =>
      c.complete({
        ref: { type: 'ref/resource', uri: 'notes://{tenant}/{id}' },
        argument: { name: 'id', value: '1' },
        context: { arguments: { tenant: own } },
      }),
    allowed: always,
  },
  {
    name: 'completion of notes://{tenant}/{id} in other tenant',
    kind: 'resource',
    run: (c, _o, other) =>
      c.complete({
        ref: { type: 'ref/resource', uri: 'notes://{tenant}/{id}' },
        argument: { name: 'id', value: '1' },
        context: { arguments: { tenant: other } },
      }),
    allowed: never,
  },
  {
    name: 'completion of prompt admin-brief',
    kind: 'prompt',
    run: (c) =>
      c.complete({
        ref: { type: 'ref/prompt', name: 'admin-brief' },
        argument: { name: 'topic', value: 'q' },
      }),
    allowed: writers,
  },
];

/** What each list must show, written out by hand. */
function expectedLists(tenant: Tenant, role: Role) {
  const tools = ['ping', 'notes.search'];
  if (role !== 'viewer') tools.push('notes.write');
  if (role === 'admin') tools.push('notes.purge');
  if (role === 'admin' && tenant === 'acme') tools.push('billing.report');
  const prompts = ['summarize', ...(role === 'viewer' ? [] : ['admin-brief'])];
  const resources = [`notes://${tenant}/1`, ...(role === 'admin' ? ['config://app'] : [])];
  return {
    tools: tools.sort(),
    prompts: prompts.sort(),
    resources: resources.sort(),
    templates: ['notes://{tenant}/{id}'],
  };
}

/** Uses a listed item the way its owner would (own tenant in the arguments). */
function useListed(c: Client, kind: 'tool' | 'prompt' | 'resource', name: string, own: Tenant) {
  if (kind === 'tool') return c.callTool({ name, arguments: { tenant: own, body: 'x' } });
  if (kind === 'prompt') return c.getPrompt({ name, arguments: { tenant: own, topic: 'q' } });
  return c.readResource({ uri: name });
}

function expectNotFound(error: unknown, kind: Cell['kind']) {
  expect(error).toBeInstanceOf(McpError);
  const code = (error as McpError).data as { code?: string } | undefined;
  expect(code?.code).toBe(kind === 'resource' ? 'ERR_RESOURCE_NOT_FOUND' : 'ERR_NOT_FOUND');
}

const principals = TENANTS.flatMap((tenant) => ROLES.map((role) => ({ tenant, role })));

describe('rbac matrix over the official SDK client and Streamable HTTP', () => {
  let host: HttpHost;
  beforeAll(async () => {
    host = await hostHttp(() => buildServer([testPrincipal, rbac(fixtureRules)]));
  });
  afterAll(async () => {
    await host.close();
  });

  describe.each(principals)('as $role of $tenant', ({ tenant, role }) => {
    const other: Tenant = tenant === 'acme' ? 'globex' : 'acme';
    let client: Client;
    beforeAll(async () => {
      client = await connectAs(host, `${tenant}/${role}`);
    });
    afterAll(async () => {
      await client.close();
    });

    it.each(cells)('$name', async (cell) => {
      const outcome = await cell.run(client, tenant, other).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      if (cell.allowed(tenant, role)) {
        if (!outcome.ok) throw outcome.error;
        expect(outcome.value).toBeTypeOf('object');
        expect((outcome.value as { isError?: boolean }).isError).not.toBe(true);
      } else {
        expect(outcome.ok).toBe(false);
        if (!outcome.ok) expectNotFound(outcome.error, cell.kind);
      }
    });

    it('lists exactly what it may use', async () => {
      const expected = expectedLists(tenant, role);
      const tools = (await client.listTools()).tools.map((t) => t.name).sort();
      const prompts = (await client.listPrompts()).prompts.map((p) => p.name).sort();
      const resources = (await client.listResources()).resources.map((r) => r.uri).sort();
      const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
      expect({ tools, prompts, resources, templates }).toEqual(expected);
    });

    it('can use everything its lists name', async () => {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
      const resources = (await client.listResources()).resources.map((r) => r.uri);
      const listed = [
        ...tools.map((n) => ['tool', n] as const),
        ...prompts.map((n) => ['prompt', n] as const),
        ...resources.map((n) => ['resource', n] as const),
      ];
      expect(listed.length).toBeGreaterThanOrEqual(4);
      for (const [kind, name] of listed) {
        await expect(useListed(client, kind, name, tenant), `${kind} ${name}`).resolves.toBeTypeOf('object');
      }
    });
  });

  it('refuses every request without a principal with ERR_UNAUTHENTICATED', async () => {
    const client = await connectAs(host, undefined);
    try {
      for (const attempt of [
        () => client.listTools(),
        () => client.callTool({ name: 'ping', arguments: {} }),
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(McpError);
        expect((error as McpError).data).toEqual({ code: 'ERR_UNAUTHENTICATED' });
      }
    } finally {
      await client.close();
    }
  });
});
