import { defineMiddleware, type Middleware, type Principal } from '@mcp-harden/core';
import { type HardenedServer, harden } from '@mcp-harden/sdk';
import { hostMcpOverHttp, type McpHttpHost } from '@mcp-harden/test-services';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { all, allowAll, allowIf, requireScopes, requireTenant } from '../src/index.js';

export const TENANTS = ['acme', 'globex'] as const;
export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Tenant = (typeof TENANTS)[number];
export type Role = (typeof ROLES)[number];

const SCOPES: Record<Role, string[]> = {
  viewer: ['notes:read'],
  editor: ['notes:write'],
  admin: ['notes:write', 'admin'],
};

/** The principals of the matrix, keyed `<tenant>/<role>`. */
export function principalFor(tenant: Tenant, role: Role): Principal {
  return {
    subject: `${role}@${tenant}`,
    scopes: SCOPES[role],
    roles: [role],
    tenant,
    authMethod: 'static',
    claims: {},
  };
}

/**
 * A stand-in for auth: puts the principal named by the `x-test-principal` header on ctx. A
 * request without the header has no principal.
 */
export const testPrincipal: Middleware = defineMiddleware(
  'test-principal',
  async function testAuth(ctx, next) {
    const raw = ctx.request.headers?.['x-test-principal'];
    if (typeof raw === 'string') {
      const [tenant, role] = raw.split('/') as [Tenant, Role];
      if ((TENANTS as readonly string[]).includes(tenant) && (ROLES as readonly string[]).includes(role)) {
        ctx.principal = principalFor(tenant, role);
      }
    }
    return next();
  },
);

/** The rbac options of the fixture: part of the rules live here, part next to the tools. */
export const fixtureRules = {
  scopeHierarchy: { 'notes:write': ['notes:read'] },
  tools: {
    ping: allowAll,
    'notes.search': { scopes: ['notes:read'], tenant: 'own' as const },
    'notes.purge': { roles: ['admin'] },
    'billing.report': allowIf((i) => i.principal.roles.includes('admin') && i.principal.tenant === 'acme', {
      name: 'acme-admin',
    }),
  },
  resources: { 'notes://{tenant}/{id}': all(requireScopes('notes:read'), requireTenant()) },
  prompts: { summarize: { scopes: ['notes:read'], tenant: 'own' as const } },
};

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

export interface FixtureOptions {
  /** Leave out these tools, prompts or resources, to compare a refused tool with one that does not exist. */
  without?: string[];
  /** Register an extra tool with no rule at all. */
  withUnruled?: boolean;
}

/** The fixture server: tools, resources (static and templated), prompts and completions. */
export function buildServer(
  use: readonly Middleware[],
  options: FixtureOptions = {},
): HardenedServer<McpServer> {
  const server = new McpServer({ name: 'rbac-fixture', version: '1.0.0' });
  const hardened = harden(server, { use });
  const skip = new Set(options.without ?? []);
  const tenantArg = { tenant: z.string() };
  if (!skip.has('ping')) server.registerTool('ping', { description: 'Liveness' }, async () => text('pong'));
  if (!skip.has('notes.search')) {
    server.registerTool('notes.search', { inputSchema: tenantArg }, async ({ tenant }) =>
      text(`found in ${tenant}`),
    );
  }
  if (!skip.has('notes.write')) {
    // The rule sits next to the tool, as data would in a policy file it is an object.
    hardened
      .withPolicy({ rule: all(requireScopes('notes:write'), requireTenant()) })
      .registerTool('notes.write', { inputSchema: { ...tenantArg, body: z.string() } }, async ({ tenant }) =>
        text(`written in ${tenant}`),
      );
  }
  if (!skip.has('notes.purge')) server.registerTool('notes.purge', {}, async () => text('purged'));
  if (!skip.has('billing.report')) server.registerTool('billing.report', {}, async () => text('report'));
  if (options.withUnruled) server.registerTool('notes.export', {}, async () => text('everything'));
  server.registerResource(
    'note',
    new ResourceTemplate('notes://{tenant}/{id}', {
      list: async () => ({
        resources: TENANTS.map((t) => ({ uri: `notes://${t}/1`, name: `note of ${t}` })),
      }),
      complete: { id: async (value) => ['1', '2', '10'].filter((id) => id.startsWith(value)) },
    }),
    {},
    async (uri, { tenant }) => ({ contents: [{ uri: uri.href, text: `note of ${String(tenant)}` }] }),
  );
  if (!skip.has('config://app'))
    hardened
      .withPolicy({ rule: { roles: ['admin'] } })
      .registerResource('config', 'config://app', {}, async (uri) => ({
        contents: [{ uri: uri.href, text: '{}' }],
      }));
  server.registerResource('health', 'status://health', {}, async (uri) => ({
    contents: [{ uri: uri.href, text: 'ok' }],
  }));
  server.registerPrompt('summarize', { argsSchema: tenantArg }, async ({ tenant }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Summarize ${tenant}` } }],
  }));
  if (!skip.has('admin-brief'))
    hardened
      .withPolicy({ rule: { roles: ['editor', 'admin'] } })
      .registerPrompt('admin-brief', { argsSchema: { topic: z.string() } }, async ({ topic }) => ({
        messages: [{ role: 'user', content: { type: 'text', text: `Brief on ${topic}` } }],
      }));
  return hardened;
}

export type HttpHost = McpHttpHost<HardenedServer<McpServer>>;

/** Hosts a fresh fixture server per HTTP request (stateless Streamable HTTP) on 127.0.0.1. */
export function hostHttp(makeServer: () => HardenedServer<McpServer>): Promise<HttpHost> {
  return hostMcpOverHttp({ mode: 'stateless', createServer: makeServer });
}

/** An official SDK client that presents itself as `principal` (`<tenant>/<role>`), or as nobody. */
export async function connectAs(host: HttpHost, principal: string | undefined): Promise<Client> {
  const client = new Client({ name: 'rbac-test', version: '1.0.0' });
  const headers: Record<string, string> = principal ? { 'x-test-principal': principal } : {};
  await client.connect(new StreamableHTTPClientTransport(host.url, { requestInit: { headers } }));
  return client;
}
