import {
  compose,
  createContext,
  type HardenContext,
  isHardenError,
  type JsonObject,
  type McpResult,
  type Principal,
  type TargetPolicy,
} from '@mcp-harden/core';
import { seededRandom } from '@mcp-harden/test-services';
import { describe, expect, it } from 'vitest';
import {
  all,
  allowAll,
  allowIf,
  any,
  denyAll,
  type RbacOptions,
  type Rule,
  type RuleInput,
  rbac,
  requireRoles,
  requireScopes,
  requireTenant,
} from '../src/index.js';
import { quickCheckOf } from '../src/rules.js';

const SCOPES = ['a:read', 'a:write', 'b:read', 'b:write', 'admin'] as const;
const ROLES = ['viewer', 'editor', 'admin'] as const;
const HIERARCHY = { 'a:write': ['a:read'], admin: ['a:write', 'b:write'], 'b:write': ['b:read'] };

/** Generated inputs from a seed, so a failure can be replayed. */
function random(seed: number) {
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  const subset = <T>(xs: readonly T[]) => xs.filter(() => next() < 0.4);
  const some = <T>(xs: readonly T[]) => {
    const picked = subset(xs);
    return picked.length > 0 ? picked : [xs[int(xs.length)]!];
  };
  return { next, int, subset, some, pick: <T>(xs: readonly T[]) => xs[int(xs.length)]! };
}

type R = ReturnType<typeof random>;

/** A random tree of built-in rules; with `custom`, also rules that only have the generic check. */
function ruleOf(r: R, depth: number, custom: boolean): Rule {
  const kinds = depth > 2 ? 4 : 6;
  switch (r.int(custom ? kinds + 2 : kinds)) {
    case 0:
    case 1:
      return requireScopes(...r.some(SCOPES));
    case 2:
      return requireRoles(...r.some(ROLES));
    case 3:
      return r.next() < 0.7 ? allowAll : denyAll;
    case 4:
      return all(...Array.from({ length: 1 + r.int(3) }, () => ruleOf(r, depth + 1, custom)));
    case 5:
      return any(...Array.from({ length: 1 + r.int(3) }, () => ruleOf(r, depth + 1, custom)));
    case 6:
      return requireTenant({ whenMissing: r.next() < 0.5 ? 'allow' : 'deny' });
    default: {
      const answer = r.next() < 0.5;
      return r.next() < 0.5
        ? allowIf(() => answer, { name: `sync-${answer}` })
        : allowIf(async () => answer, { name: `async-${answer}` });
    }
  }
}

/** The same rule with only its generic check: what rbac did for every rule before quick checks. */
const generic = (rule: Rule): Rule => ({
  name: rule.name,
  requiredScopes: rule.requiredScopes,
  check: (input: RuleInput) => rule.check(input),
});

function principalOf(r: R): Principal {
  return Object.freeze({
    subject: 'u1',
    scopes: Object.freeze(r.subset(SCOPES)),
    roles: Object.freeze(r.subset(ROLES)),
    ...(r.next() < 0.8 ? { tenant: 'acme' } : {}),
    claims: {},
  });
}

interface Seen {
  reached: boolean;
  result?: McpResult;
  error?: { code: string; message: string; data: unknown };
  authorization: unknown;
}

async function through(options: RbacOptions, ctx: HardenContext, answer: McpResult): Promise<Seen> {
  let reached = false;
  try {
    const result = await compose([rbac(options)])(ctx, async () => {
      reached = true;
      return answer;
    });
    return { reached, result, authorization: ctx.state.authorization };
  } catch (err) {
    if (!isHardenError(err)) throw err;
    return {
      reached,
      error: { code: err.code, message: err.message, data: err.data },
      authorization: ctx.state.authorization,
    };
  }
}

const callOf = (principal: Principal, tool: string, policy?: TargetPolicy, args: JsonObject = {}) =>
  createContext({
    method: 'tools/call',
    params: { name: tool, arguments: args },
    principal,
    ...(policy ? { policy } : {}),
  });

describe('quick checks of built-in rules', () => {
  it('give the outcome the rule check gives, for generated rules and principals', async () => {
    const r = random(5);
    for (let i = 0; i < 3000; i++) {
      const rule = ruleOf(r, 0, false);
      const principal = principalOf(r);
      const scopes = new Set<string>(principal.scopes);
      const input: RuleInput = {
        principal,
        scopes,
        kind: 'tool',
        target: 't',
        method: 'tools/call',
        phase: 'call',
        arguments: {},
        variables: {},
        context: callOf(principal, 't'),
      };
      const quick = quickCheckOf(rule);
      expect(quick).toBeTypeOf('function');
      expect(quick!(principal, scopes)).toEqual(await rule.check(input));
    }
  });

  it('are not used for a rule whose check was replaced', async () => {
    const rule = requireScopes('a:read');
    const original = rule.check;
    (rule as { check: Rule['check'] }).check = (input) =>
      input.principal.subject === 'root' ? { allowed: true, rule: 'x' } : original(input);
    expect(quickCheckOf(rule)).toBeUndefined();
    const root = Object.freeze({ subject: 'root', scopes: [], roles: [], claims: {} });
    const seen = await through({ tools: { t: rule } }, callOf(root, 't'), { ok: true });
    expect(seen.reached).toBe(true);
  });
});

describe('rbac decides with quick checks as with the generic checks', () => {
  it('for generated tools, rules, policies and principals, with and without step-up and hierarchy', async () => {
    const r = random(9);
    for (let i = 0; i < 1500; i++) {
      const custom = r.next() < 0.3;
      const rule = ruleOf(r, 0, custom);
      const policyRule = r.next() < 0.3 ? ruleOf(r, 1, custom) : undefined;
      const shared: Omit<RbacOptions, 'tools'> = {
        revealRequiredScopes: r.next() < 0.5,
        ...(r.next() < 0.5 ? { scopeHierarchy: HIERARCHY } : {}),
        ...(r.next() < 0.2 ? { default: 'allow' as const } : {}),
        onError: () => {},
      };
      const tool = r.next() < 0.9 ? 't' : 'unknown';
      const principal = principalOf(r);
      const args: JsonObject = r.next() < 0.3 ? { tenant: r.pick(['acme', 'globex']) } : {};
      const quick = await through(
        { ...shared, tools: { t: rule } },
        callOf(principal, tool, policyRule && { rule: policyRule }, args),
        { ok: true },
      );
      const slow = await through(
        { ...shared, tools: { t: generic(rule) } },
        callOf(principal, tool, policyRule && { rule: generic(policyRule) }, args),
        { ok: true },
      );
      expect(quick).toEqual(slow);
    }
  });

  it('for generated resource reads through templates, exact URIs and policies', async () => {
    const r = random(17);
    const uris = ['notes://acme/1', 'notes://globex/2', 'config://app', 'files://acme/x', 'other://z'];
    for (let i = 0; i < 800; i++) {
      const custom = r.next() < 0.3;
      const resources: Record<string, Rule> = {};
      for (const key of ['notes://{tenant}/{id}', '{scheme}://acme/{id}', 'config://app']) {
        if (r.next() < 0.7) resources[key] = ruleOf(r, 0, custom);
      }
      const policyRule = r.next() < 0.3 ? ruleOf(r, 1, custom) : undefined;
      const genericResources = Object.fromEntries(Object.entries(resources).map(([k, v]) => [k, generic(v)]));
      const shared: Omit<RbacOptions, 'resources'> = {
        revealRequiredScopes: r.next() < 0.5,
        ...(r.next() < 0.5 ? { scopeHierarchy: HIERARCHY } : {}),
        onError: () => {},
      };
      const principal = principalOf(r);
      const uri = r.pick(uris);
      const readOf = (rule: Rule | undefined) =>
        createContext({
          method: 'resources/read',
          params: { uri },
          principal,
          ...(rule ? { policy: { rule } } : {}),
        });
      const quick = await through({ ...shared, resources }, readOf(policyRule), { contents: [] });
      const slow = await through(
        { ...shared, resources: genericResources },
        readOf(policyRule && generic(policyRule)),
        { contents: [] },
      );
      expect(quick).toEqual(slow);
    }
  });

  it('when filtering generated lists', async () => {
    const r = random(13);
    for (let i = 0; i < 300; i++) {
      const names = ['t0', 't1', 't2', 't3', 't4', 't5'];
      const rules: Record<string, Rule> = {};
      for (const name of names) if (r.next() < 0.85) rules[name] = ruleOf(r, 0, r.next() < 0.2);
      const genericRules = Object.fromEntries(Object.entries(rules).map(([k, v]) => [k, generic(v)]));
      const principal = principalOf(r);
      const answer = { tools: names.map((name) => ({ name })) };
      const listOf = () => createContext({ method: 'tools/list', principal });
      const hierarchy = r.next() < 0.5 ? { scopeHierarchy: HIERARCHY } : {};
      const quick = await through({ ...hierarchy, tools: rules }, listOf(), answer);
      const slow = await through({ ...hierarchy, tools: genericRules }, listOf(), answer);
      expect(quick).toEqual(slow);
    }
  });

  it('lets a later built-in rule see scopes a custom rule added in the same request, as before', async () => {
    const grant = allowIf(
      (input) => {
        (input.scopes as Set<string>).add('b:write');
        return true;
      },
      { name: 'grant' },
    );
    const principal = Object.freeze({
      subject: 'u',
      scopes: Object.freeze(['a:read']),
      roles: [],
      claims: {},
    });
    const mw = compose([
      rbac({ tools: { read: requireScopes('a:read'), grant, write: requireScopes('b:write') } }),
    ]);
    const reaches = async (ctx: HardenContext) => {
      let reached = false;
      await mw(ctx, async () => {
        reached = true;
        return {};
      }).catch(() => {});
      return reached;
    };
    expect(await reaches(callOf(principal, 'read'))).toBe(true);
    expect(await reaches(callOf(principal, 'grant', { rule: requireScopes('b:write') }))).toBe(true);
    // the next request starts again from the principal's own scopes
    expect(await reaches(callOf(principal, 'write'))).toBe(false);
    expect(await reaches(callOf(principal, 'read'))).toBe(true);
  });

  it('follows a principal whose scopes array changes between requests', async () => {
    const scopes = ['a:read'];
    const principal: Principal = { subject: 'u', scopes, roles: [], claims: {} };
    const mw = compose([rbac({ tools: { t: requireScopes('a:write') } })]);
    const attempt = async () => {
      let reached = false;
      await mw(callOf(principal, 't'), async () => {
        reached = true;
        return {};
      }).catch(() => {});
      return reached;
    };
    expect(await attempt()).toBe(false);
    scopes.push('a:write');
    expect(await attempt()).toBe(true);
    scopes.length = 0;
    expect(await attempt()).toBe(false);
  });
});
