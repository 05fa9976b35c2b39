import type { Middleware } from '@mcp-harden/core';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { allowIf, type RbacOptions, RuleEvaluationError, rbac } from '../src/index.js';
import {
  buildServer,
  connectAs,
  type FixtureOptions,
  fixtureRules,
  type HttpHost,
  hostHttp,
  ROLES,
  TENANTS,
  testPrincipal,
} from './fixture.js';

const everyone = TENANTS.flatMap((t) => ROLES.map((r) => `${t}/${r}`));

let hosts: HttpHost[] = [];
let clients: Client[] = [];
afterEach(async () => {
  for (const c of clients) await c.close();
  for (const h of hosts) await h.close();
  hosts = [];
  clients = [];
  vi.restoreAllMocks();
});

async function start(options: RbacOptions, fixture: FixtureOptions = {}, extra: Middleware[] = []) {
  const host = await hostHttp(() => buildServer([testPrincipal, rbac(options), ...extra], fixture));
  hosts.push(host);
  return host;
}

async function as(host: HttpHost, principal: string): Promise<Client> {
  const client = await connectAs(host, principal);
  clients.push(client);
  return client;
}

/** The error a call produced, as the client sees it: code, message and data. */
async function errorOf(attempt: Promise<unknown>): Promise<{ code: number; message: string; data: unknown }> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(McpError);
  const { code, message, data } = error as McpError;
  return { code, message, data };
}

describe('a tool added without a rule', () => {
  it('is refused to every caller and named in no list', async () => {
    const host = await start(fixtureRules, { withUnruled: true });
    const bare = await start(fixtureRules);
    for (const principal of everyone) {
      const client = await as(host, principal);
      const refused = await errorOf(client.callTool({ name: 'notes.export', arguments: {} }));
      expect(refused).toEqual({
        code: -32602,
        message: 'MCP error -32602: Tool notes.export not found',
        data: { code: 'ERR_NOT_FOUND' },
      });
      const unknown = await errorOf(
        (await as(bare, principal)).callTool({ name: 'notes.export', arguments: {} }),
      );
      expect(refused).toEqual(unknown);
      expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('notes.export');
    }
  });
});

describe('unknown versus refused', () => {
  const targets = [
    {
      name: 'tool',
      skip: 'notes.purge',
      run: (c: Client) => c.callTool({ name: 'notes.purge', arguments: {} }),
    },
    {
      name: 'prompt',
      skip: 'admin-brief',
      run: (c: Client) => c.getPrompt({ name: 'admin-brief', arguments: { topic: 'q' } }),
    },
    { name: 'resource', skip: 'config://app', run: (c: Client) => c.readResource({ uri: 'config://app' }) },
  ];

  it.each(targets)(
    'a refused $name and a missing one give the same code, message and data',
    async ({ skip, run }) => {
      const withIt = await start(fixtureRules);
      const withoutIt = await start(fixtureRules, { without: [skip] });
      const refused = await errorOf(run(await as(withIt, 'acme/viewer')));
      const missing = await errorOf(run(await as(withoutIt, 'acme/viewer')));
      expect(refused).toEqual(missing);
      expect((refused.data as { code: string }).code).toMatch(/^ERR_(RESOURCE_)?NOT_FOUND$/);
      // The admin can use it, so the refusal above really was a refusal.
      await expect(run(await as(withIt, 'acme/admin'))).resolves.toBeTypeOf('object');
    },
  );

  it('with step-up, a call lacking only scopes gets ERR_INSUFFICIENT_SCOPE and every scope it needs', async () => {
    const host = await start({ ...fixtureRules, revealRequiredScopes: true });
    const viewer = await as(host, 'acme/viewer');
    const stepUp = await errorOf(
      viewer.callTool({ name: 'notes.write', arguments: { tenant: 'acme', body: 'x' } }),
    );
    expect(stepUp).toEqual({
      code: -32012,
      message: 'MCP error -32012: Insufficient scope',
      data: { code: 'ERR_INSUFFICIENT_SCOPE', requiredScopes: ['notes:write'] },
    });
    // Not a scope problem: no step-up can help, so no scopes are offered.
    const roles = await errorOf(viewer.callTool({ name: 'notes.purge', arguments: {} }));
    expect(roles.data).toEqual({ code: 'ERR_FORBIDDEN' });
    const tenant = await errorOf(viewer.callTool({ name: 'notes.search', arguments: { tenant: 'globex' } }));
    expect(tenant.data).toEqual({ code: 'ERR_FORBIDDEN' });
    // A target with no rule still looks missing.
    const unknown = await errorOf(viewer.callTool({ name: 'no.such.tool', arguments: {} }));
    expect(unknown.data).toEqual({ code: 'ERR_NOT_FOUND' });
  });
});

describe('a rule predicate that throws', () => {
  const secret = 'card-4111111111111111';
  const throwing = allowIf(
    (input) => {
      throw new Error(`cannot handle ${String(input.arguments.card)}`);
    },
    { name: 'fragile' },
  );

  it('denies with ERR_FORBIDDEN and is reported without argument values', async () => {
    const reports: unknown[] = [];
    const host = await start({
      ...fixtureRules,
      tools: { ...fixtureRules.tools, 'billing.report': throwing },
      onError: (error, info) => reports.push({ error, info }),
    });
    const admin = await as(host, 'acme/admin');
    const refused = await errorOf(admin.callTool({ name: 'billing.report', arguments: { card: secret } }));
    expect(refused).toEqual({
      code: -32011,
      message: 'MCP error -32011: Forbidden',
      data: { code: 'ERR_FORBIDDEN' },
    });
    expect(JSON.stringify(refused)).not.toContain(secret);
    expect(reports).toHaveLength(1);
    const { error, info } = reports[0] as { error: unknown; info: unknown };
    expect(error).toBeInstanceOf(RuleEvaluationError);
    expect(info).toEqual({
      method: 'tools/call',
      kind: 'tool',
      target: 'billing.report',
      rule: 'allowIf(fragile)',
    });
    // Listing evaluates the predicate too: it is hidden, and that failure is reported as well.
    expect((await admin.listTools()).tools.map((t) => t.name)).not.toContain('billing.report');
    expect(reports).toHaveLength(2);
  });

  it('denies with ERR_FORBIDDEN when step-up is on too', async () => {
    const host = await start({
      ...fixtureRules,
      tools: { ...fixtureRules.tools, 'billing.report': throwing },
      revealRequiredScopes: true,
      onError: () => {},
    });
    const refused = await errorOf(
      (await as(host, 'acme/admin')).callTool({ name: 'billing.report', arguments: { card: secret } }),
    );
    expect(refused.data).toEqual({ code: 'ERR_FORBIDDEN' });
  });

  it('is reported by default as one line on stderr that holds no argument value', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    const host = await start({
      ...fixtureRules,
      tools: { ...fixtureRules.tools, 'billing.report': throwing },
    });
    await errorOf(
      (await as(host, 'acme/admin')).callTool({ name: 'billing.report', arguments: { card: secret } }),
    );
    const line = lines.find((l) => l.includes('[mcp-harden/rbac]'));
    expect(line).toBe(
      '[mcp-harden/rbac] rule allowIf(fragile) threw Error on tools/call tool billing.report; denied',
    );
    expect(lines.join('\n')).not.toContain(secret);
  });
});

describe('the decision on ctx.state.authorization', () => {
  it('records allow and deny with the deciding rule and needed scopes', async () => {
    const seen: unknown[] = [];
    const capture: Middleware = async (ctx, next) => {
      try {
        return await next();
      } finally {
        seen.push({ method: ctx.method, target: ctx.target, authorization: ctx.state.authorization });
      }
    };
    const host = await hostHttp(() => buildServer([testPrincipal, capture, rbac(fixtureRules)]));
    hosts.push(host);
    const viewer = await as(host, 'globex/viewer');
    await viewer.callTool({ name: 'notes.search', arguments: { tenant: 'globex' } });
    await viewer
      .callTool({ name: 'notes.write', arguments: { tenant: 'globex', body: 'x' } })
      .catch(() => {});
    await viewer.callTool({ name: 'notes.search', arguments: { tenant: 'acme' } }).catch(() => {});
    await viewer.listTools();
    expect(seen).toEqual([
      {
        method: 'tools/call',
        target: 'notes.search',
        authorization: {
          allowed: true,
          rule: 'all(requireScopes(notes:read), requireTenant)',
          requiredScopes: ['notes:read'],
        },
      },
      {
        method: 'tools/call',
        target: 'notes.write',
        authorization: {
          allowed: false,
          rule: 'requireScopes(notes:write)',
          reason: 'missing scopes',
          requiredScopes: ['notes:write'],
        },
      },
      {
        method: 'tools/call',
        target: 'notes.search',
        authorization: {
          allowed: false,
          rule: 'requireTenant',
          reason: 'tenant mismatch',
          requiredScopes: ['notes:read'],
        },
      },
      {
        method: 'tools/list',
        target: undefined,
        authorization: { allowed: true, rule: 'list-filter', reason: 'showed 2 of 5' },
      },
    ]);
  });
});
