import {
  type ContextInit,
  compose,
  createContext,
  type HardenContext,
  isHardenError,
  type McpResult,
  type Principal,
  type TargetPolicy,
} from '@mcp-harden/core';
import { describe, expect, it } from 'vitest';
import {
  all,
  allowAll,
  allowIf,
  any,
  denyAll,
  isRule,
  type RbacOptions,
  rbac,
  requireRoles,
  requireScopes,
  requireTenant,
  ruleFromData,
} from '../src/index.js';

const principal = (overrides: Partial<Principal> = {}): Principal => ({
  subject: 'u1',
  scopes: [],
  roles: [],
  tenant: 'acme',
  claims: {},
  ...overrides,
});

interface Run {
  ctx: HardenContext;
  result?: McpResult;
  error?: unknown;
  reached: boolean;
}

/** Runs one request through rbac alone; the terminal answers `answer` (for lists) or `{ ok: true }`. */
async function run(
  options: RbacOptions,
  init: Omit<ContextInit, 'principal'> & { principal?: Principal | null },
  answer: McpResult = { ok: true },
): Promise<Run> {
  const { principal: who, ...rest } = init;
  const ctx = createContext({ ...rest, principal: who === null ? undefined : (who ?? principal()) });
  const out: Run = { ctx, reached: false };
  try {
    out.result = await compose([rbac(options)])(ctx, async () => {
      out.reached = true;
      return answer;
    });
  } catch (err) {
    out.error = err;
  }
  return out;
}

const callTool = (name: string, args: Record<string, unknown> = {}) => ({
  method: 'tools/call' as const,
  params: { name, arguments: args },
});

describe('scope hierarchy', () => {
  it('applies implied scopes transitively', async () => {
    const options: RbacOptions = {
      scopeHierarchy: { 'notes:admin': ['notes:write'], 'notes:write': ['notes:read'] },
      tools: { read: requireScopes('notes:read') },
    };
    const admin = await run(options, {
      ...callTool('read'),
      principal: principal({ scopes: ['notes:admin'] }),
    });
    expect(admin.reached).toBe(true);
    const none = await run(options, {
      ...callTool('read'),
      principal: principal({ scopes: ['notes:other'] }),
    });
    expect(none.reached).toBe(false);
  });

  it('does not imply upwards', async () => {
    const out = await run(
      { scopeHierarchy: { 'notes:write': ['notes:read'] }, tools: { write: requireScopes('notes:write') } },
      { ...callTool('write'), principal: principal({ scopes: ['notes:read'] }) },
    );
    expect(out.reached).toBe(false);
  });

  it('rejects cycles and malformed entries with TypeError at construction', () => {
    expect(() => rbac({ scopeHierarchy: { a: ['b'], b: ['c'], c: ['a'] } })).toThrow(
      new TypeError('rbac: scopeHierarchy has a cycle: a -> b -> c -> a'),
    );
    expect(() => rbac({ scopeHierarchy: { a: ['a'] } })).toThrow(TypeError);
    expect(() => rbac({ scopeHierarchy: { a: 'b' as unknown as string[] } })).toThrow(TypeError);
    expect(() => rbac({ scopeHierarchy: { a: ['has space'] } })).toThrow(TypeError);
  });
});

describe('rbac options', () => {
  it('throws TypeError on misconfiguration', () => {
    expect(() => rbac({ default: 'maybe' as 'allow' })).toThrow(TypeError);
    expect(() => rbac({ listConcurrency: 0 })).toThrow(TypeError);
    expect(() => rbac({ onError: 'log' as unknown as () => void })).toThrow(TypeError);
    expect(() => rbac({ revealRequiredScopes: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => rbac({ tools: { x: {} } })).toThrow(/tools\["x"\]/);
    expect(() => rbac({ resources: { 'files://{+path}': allowAll } })).toThrow(/level-1/);
    expect(() => rbac({ resources: { 'files://{a}/{a}': allowAll } })).toThrow(TypeError);
    expect(() => rbac({ resources: { 'files://{a': allowAll } })).toThrow(TypeError);
    expect(() => requireScopes()).toThrow(TypeError);
    expect(() => requireRoles('')).toThrow(TypeError);
    expect(() => all()).toThrow(TypeError);
    expect(() => any({} as never)).toThrow(TypeError);
    expect(() => allowIf('x' as never)).toThrow(TypeError);
    expect(() => requireTenant({ template: 'notes://{id}' })).toThrow(/no \{tenant\}/);
  });
});

describe('deny by default', () => {
  it('refuses a target without a rule, including names that exist on Object.prototype', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'unknown']) {
      const out = await run({ tools: { ping: allowAll } }, callTool(name));
      expect(out.reached).toBe(false);
      expect(isHardenError(out.error, 'ERR_NOT_FOUND')).toBe(true);
      expect((out.error as Error).message).toBe(`Tool ${name} not found`);
      expect(out.ctx.state.authorization).toEqual({
        allowed: false,
        rule: 'default:deny',
        reason: 'no rule',
      });
    }
  });

  it("lets a target without a rule through only with default: 'allow'", async () => {
    const out = await run({ default: 'allow' }, callTool('anything'));
    expect(out.reached).toBe(true);
    expect(out.ctx.state.authorization).toEqual({ allowed: true, rule: 'default:allow' });
  });

  it('refuses a request without a principal with ERR_UNAUTHENTICATED, even with default allow', async () => {
    const out = await run({ default: 'allow' }, { ...callTool('x'), principal: null });
    expect(isHardenError(out.error, 'ERR_UNAUTHENTICATED')).toBe(true);
    expect(out.ctx.state.authorization).toEqual({
      allowed: false,
      rule: 'authentication',
      reason: 'no principal',
    });
  });

  it('uses the not-found shapes of prompts, resources and completions', async () => {
    const prompt = await run({}, { method: 'prompts/get', params: { name: 'p' } });
    expect([(prompt.error as Error).message, isHardenError(prompt.error, 'ERR_NOT_FOUND')]).toEqual([
      'Prompt p not found',
      true,
    ]);
    const resource = await run({}, { method: 'resources/read', params: { uri: 'notes://a/1' } });
    expect([
      (resource.error as Error).message,
      isHardenError(resource.error, 'ERR_RESOURCE_NOT_FOUND'),
    ]).toEqual(['Resource notes://a/1 not found', true]);
    const completion = await run(
      {},
      {
        method: 'completion/complete',
        params: { ref: { type: 'ref/resource', uri: 'notes://{id}' }, argument: { name: 'id', value: '' } },
      },
    );
    expect((completion.error as Error).message).toBe('Resource template notes://{id} not found');
  });
});

describe('rules', () => {
  it('requireRoles accepts any one of its roles', async () => {
    const options = { tools: { t: requireRoles('editor', 'admin') } };
    expect(
      (await run(options, { ...callTool('t'), principal: principal({ roles: ['admin'] }) })).reached,
    ).toBe(true);
    expect(
      (await run(options, { ...callTool('t'), principal: principal({ roles: ['viewer'] }) })).reached,
    ).toBe(false);
  });

  it('allowIf allows only on exactly true, and sees arguments and principal', async () => {
    for (const [value, reached] of [
      [true, true],
      ['yes', false],
      [1, false],
      [undefined, false],
    ] as const) {
      const options = { tools: { t: allowIf(async () => value as boolean) } };
      expect((await run(options, callTool('t'))).reached).toBe(reached);
    }
    const small = allowIf((i) => typeof i.arguments.amount === 'number' && i.arguments.amount <= 100, {
      name: 'small',
    });
    expect((await run({ tools: { pay: small } }, callTool('pay', { amount: 50 }))).reached).toBe(true);
    const big = await run({ tools: { pay: small } }, callTool('pay', { amount: 500 }));
    expect(big.ctx.state.authorization).toEqual({
      allowed: false,
      rule: 'allowIf(small)',
      reason: 'predicate denied',
    });
  });

  it('requireTenant refuses when any tenant the call names is not the principal’s', async () => {
    const options: RbacOptions = { resources: { 'notes://{tenant}/{id}': requireTenant() } };
    const complete = (argTenant: string, contextTenant: string) =>
      run(options, {
        method: 'completion/complete',
        params: {
          ref: { type: 'ref/resource', uri: 'notes://{tenant}/{id}' },
          argument: { name: 'tenant', value: argTenant },
          context: { arguments: { tenant: contextTenant } },
        },
      });
    expect((await complete('acme', 'acme')).reached).toBe(true);
    expect((await complete('globex', 'acme')).reached).toBe(false);
    expect((await complete('acme', 'globex')).reached).toBe(false);
  });

  it('requireTenant({ template }) from a policy lists the template itself and filters concrete resources', async () => {
    const rule = requireTenant({ template: 'notes://{tenant}/{id}' });
    const lookupPolicy: ContextInit['lookupPolicy'] = (kind, target) =>
      kind === 'resource' && target.startsWith('notes://') ? { rule } : undefined;
    const templates = await run(
      {},
      { method: 'resources/templates/list', lookupPolicy },
      { resourceTemplates: [{ uriTemplate: 'notes://{tenant}/{id}', name: 'note' }] },
    );
    expect((templates.result!.resourceTemplates as unknown[]).length).toBe(1);
    const resources = await run(
      {},
      { method: 'resources/list', lookupPolicy },
      {
        resources: [
          { uri: 'notes://acme/1', name: 'a' },
          { uri: 'notes://globex/1', name: 'g' },
        ],
      },
    );
    expect((resources.result!.resources as Array<{ uri: string }>).map((r) => r.uri)).toEqual([
      'notes://acme/1',
    ]);
  });

  it('requireTenant refuses principals without a tenant, odd argument types and missing tenants', async () => {
    const options = { tools: { t: requireTenant() } };
    expect(
      (
        await run(options, {
          ...callTool('t', { tenant: 'acme' }),
          principal: principal({ tenant: undefined }),
        })
      ).reached,
    ).toBe(false);
    expect((await run(options, callTool('t', { tenant: ['acme'] }))).reached).toBe(false);
    expect((await run(options, callTool('t'))).reached).toBe(false);
    expect(
      (await run({ tools: { t: requireTenant({ whenMissing: 'allow' }) } }, callTool('t'))).reached,
    ).toBe(true);
    expect(
      (await run({ tools: { t: requireTenant({ argument: 'org' }) } }, callTool('t', { org: 'globex' })))
        .reached,
    ).toBe(false);
  });

  it('requireTenant with its own template works for rules declared with withPolicy', async () => {
    const policy: TargetPolicy = { rule: requireTenant({ template: 'notes://{tenant}/{id}' }) };
    const read = (uri: string) => run({}, { method: 'resources/read', params: { uri }, policy });
    expect((await read('notes://acme/1')).reached).toBe(true);
    expect((await read('notes://globex/1')).reached).toBe(false);
    // `{tenant}` never spans a `/`, so a crafted path cannot smuggle the own tenant in later.
    expect((await read('notes://globex/acme/1')).reached).toBe(false);
  });

  it('a URI matched by several templates must satisfy every one of them', async () => {
    const options: RbacOptions = {
      resources: { 'files://{tenant}/{name}': requireTenant(), 'files://{owner}/secret': denyAll },
    };
    const read = (uri: string) => run(options, { method: 'resources/read', params: { uri } });
    expect((await read('files://acme/readme')).reached).toBe(true);
    expect((await read('files://acme/secret')).reached).toBe(false);
  });

  it('any() allows on the first alternative that allows', async () => {
    const rule = any(requireRoles('admin'), requireScopes('notes:admin'));
    const options = { tools: { t: rule } };
    expect(
      (await run(options, { ...callTool('t'), principal: principal({ roles: ['admin'] }) })).reached,
    ).toBe(true);
    expect(
      (await run(options, { ...callTool('t'), principal: principal({ scopes: ['notes:admin'] }) })).reached,
    ).toBe(true);
    expect((await run(options, callTool('t'))).reached).toBe(false);
  });
});

describe('step-up', () => {
  const reveal = (rule: Parameters<typeof ruleFromData>[0], scopes: string[] = []) =>
    run(
      { revealRequiredScopes: true, tools: { t: rule } },
      { ...callTool('t'), principal: principal({ scopes }) },
    );

  it('asks for every scope of every rule at once', async () => {
    const out = await reveal(all(requireScopes('a'), requireScopes('b', 'c')), ['b']);
    expect(isHardenError(out.error, 'ERR_INSUFFICIENT_SCOPE')).toBe(true);
    expect((out.error as { data: unknown }).data).toEqual({ requiredScopes: ['a', 'b', 'c'] });
  });

  it('offers the cheapest alternative of any()', async () => {
    const out = await reveal(any(requireScopes('x', 'y'), requireScopes('z')));
    expect((out.error as { data: unknown }).data).toEqual({ requiredScopes: ['z'] });
  });

  it('offers no scopes when something besides scopes is missing', async () => {
    const out = await reveal(all(requireScopes('a'), requireRoles('admin')));
    expect(isHardenError(out.error, 'ERR_FORBIDDEN')).toBe(true);
    expect((out.error as { data: unknown }).data).toBeUndefined();
  });

  it('combines a rule in options with one in withPolicy(): both must allow', async () => {
    const out = await run(
      { revealRequiredScopes: true, tools: { t: requireScopes('a') } },
      { ...callTool('t'), principal: principal({ scopes: ['a'] }), policy: { rule: { scopes: ['b'] } } },
    );
    expect((out.error as { data: unknown }).data).toEqual({ requiredScopes: ['a', 'b'] });
  });
});

describe('rule data', () => {
  it('builds the same rules as code', async () => {
    const rule = ruleFromData({ scopes: ['notes:read'], roles: ['editor', 'admin'], tenant: 'own' });
    expect(isRule(rule)).toBe(true);
    expect(rule.name).toBe('all(requireScopes(notes:read), requireRoles(editor|admin), requireTenant)');
    expect(rule.requiredScopes).toEqual(['notes:read']);
    const nested = ruleFromData({ any: [{ roles: ['admin'] }, { all: [{ scopes: ['a'] }, 'allow'] }] });
    expect(nested.name).toBe('any(requireRoles(admin), all(requireScopes(a), allowAll))');
    expect(ruleFromData('deny')).toBe(denyAll);
    expect(ruleFromData(allowAll)).toBe(allowAll);
  });

  it('is usable as withPolicy({ rule }) data and JSON round-trips', async () => {
    const data = JSON.parse(JSON.stringify({ scopes: ['notes:read'], tenant: { argument: 'org' } }));
    const ok = await run(
      {},
      {
        ...callTool('t', { org: 'acme' }),
        principal: principal({ scopes: ['notes:read'] }),
        policy: { rule: data },
      },
    );
    expect(ok.reached).toBe(true);
    const other = await run(
      {},
      {
        ...callTool('t', { org: 'globex' }),
        principal: principal({ scopes: ['notes:read'] }),
        policy: { rule: data },
      },
    );
    expect(other.reached).toBe(false);
  });

  it('rejects malformed data with TypeError', () => {
    for (const bad of [
      {},
      { scopes: [] },
      { scopes: 'notes:read' },
      { scopes: [1] },
      { role: ['admin'] },
      { tenant: 'other' },
      { tenant: { argument: 'org', extra: 1 } },
      { any: [] },
      { all: [{}] },
      'maybe',
      null,
      [],
    ]) {
      expect(() => ruleFromData(bad as never), JSON.stringify(bad)).toThrow(TypeError);
    }
  });

  it('denies and reports when a withPolicy() rule is malformed', async () => {
    const reports: unknown[] = [];
    const out = await run(
      { onError: (e) => reports.push(e) },
      { ...callTool('t'), policy: { rule: { scope: ['a'] } as never } },
    );
    expect(out.reached).toBe(false);
    expect(reports).toHaveLength(1);
  });
});

describe('list filtering', () => {
  it('fails closed on a list it cannot read', async () => {
    const out = await run({ default: 'allow' }, { method: 'tools/list' }, { tools: 'nope' });
    expect(out.result).toEqual({ tools: [] });
    const odd = await run(
      { default: 'allow' },
      { method: 'tools/list' },
      { tools: [{ name: 'a' }, null, { name: 3 }] },
    );
    expect(odd.result).toEqual({ tools: [{ name: 'a' }] });
  });

  it('keeps order and other fields, and filters resources by their template', async () => {
    const out = await run(
      { resources: { 'notes://{tenant}/{id}': requireTenant(), 'config://app': allowAll } },
      { method: 'resources/list' },
      {
        resources: [
          { uri: 'notes://acme/1', name: 'a' },
          { uri: 'notes://globex/1', name: 'g' },
          { uri: 'config://app', name: 'c' },
          { uri: 'other://x', name: 'o' },
        ],
        nextCursor: 'next',
      },
    );
    expect(out.result).toEqual({
      resources: [
        { uri: 'notes://acme/1', name: 'a' },
        { uri: 'config://app', name: 'c' },
      ],
      nextCursor: 'next',
    });
  });

  it('evaluates async predicates with bounded concurrency', async () => {
    let active = 0;
    let peak = 0;
    const slow = allowIf(async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise<void>((resolve) => setImmediate(resolve));
      active--;
      return true;
    });
    const names = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const out = await run(
      { listConcurrency: 3, tools: Object.fromEntries(names.map((n) => [n, slow])) },
      { method: 'tools/list' },
      { tools: names.map((name) => ({ name })) },
    );
    expect(out.result).toEqual({ tools: names.map((name) => ({ name })) });
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
  });
});
