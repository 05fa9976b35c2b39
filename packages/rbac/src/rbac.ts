import {
  defineMiddleware,
  type HardenContext,
  HardenError,
  type HardenedMethod,
  type JsonObject,
  type McpResult,
  type Middleware,
  type TargetKind,
  type TargetPolicy,
} from '@mcp-harden/core';
import { type RuleLike, ruleFromData } from './data.js';
import { quickCheckOf, type Rule, RuleEvaluationError, type RuleInput, type RuleOutcome } from './rules.js';
import { compileScopeHierarchy, type ScopeHierarchy } from './scopes.js';
import { type CompiledTemplate, compileUriTemplate } from './uri-template.js';

/** The decision rbac records on `ctx.state.authorization` for every request it sees. */
export interface AuthorizationDecision {
  allowed: boolean;
  /** Name of the rule that decided (`default:deny` when the target has no rule). */
  rule: string;
  /** Short, value-free reason. */
  reason?: string;
  /** Scopes the target needs, when the deciding rule is about scopes. */
  requiredScopes?: string[];
}

declare module '@mcp-harden/core' {
  interface HardenState {
    /** Set by `@mcp-harden/rbac` on every request it sees. */
    authorization?: AuthorizationDecision;
  }
  interface TargetPolicy {
    /** Authorization rule of this tool, prompt or resource, for `@mcp-harden/rbac`. */
    rule?: RuleLike;
  }
}

/** What `onError` receives besides the error: never argument values. */
export interface RuleErrorInfo {
  method: HardenedMethod;
  kind: TargetKind;
  target: string;
  rule: string;
}

/** Options of {@link rbac}. */
export interface RbacOptions {
  /** Rules per tool name. */
  tools?: Readonly<Record<string, RuleLike>>;
  /** Rules per prompt name. */
  prompts?: Readonly<Record<string, RuleLike>>;
  /** Rules per resource URI (`config://app`) or level-1 URI template (`notes://{tenant}/{id}`). */
  resources?: Readonly<Record<string, RuleLike>>;
  /** What happens to a target without any rule. Default `deny`. */
  default?: 'deny' | 'allow';
  /** Scopes implied by other scopes, transitive: `{ 'notes:write': ['notes:read'] }`. */
  scopeHierarchy?: ScopeHierarchy;
  /**
   * Step-up: refuse a call that lacks only scopes with `ERR_INSUFFICIENT_SCOPE` and
   * `data.requiredScopes`, and other refusals of existing rules with `ERR_FORBIDDEN`. Off by
   * default, so a refused target looks exactly like one that does not exist.
   */
  revealRequiredScopes?: boolean;
  /** Reports a rule that threw or rejected (the request is denied). Default: one line on stderr. */
  onError?: (error: unknown, info: RuleErrorInfo) => void;
  /** How many list items are evaluated at once. Default 8. */
  listConcurrency?: number;
}

type Phase = RuleInput['phase'];

interface Bound {
  rule: Rule;
  variables: Record<string, string>;
}

const LIST_KEYS = {
  'tools/list': ['tools', 'tool', 'name'],
  'prompts/list': ['prompts', 'prompt', 'name'],
  'resources/list': ['resources', 'resource', 'uri'],
  'resources/templates/list': ['resourceTemplates', 'resource', 'uriTemplate'],
} as const satisfies Record<string, readonly [string, TargetKind, string]>;

type ListMethodKey = keyof typeof LIST_KEYS;
const isList = (method: HardenedMethod): method is ListMethodKey => Object.hasOwn(LIST_KEYS, method);

const defaultOnError = (error: unknown, info: RuleErrorInfo) => {
  const cause = error instanceof RuleEvaluationError ? error.cause : error;
  const kind = cause instanceof Error ? cause.name : typeof cause;
  console.error(
    `[mcp-harden/rbac] rule ${info.rule} threw ${kind} on ${info.method} ${info.kind} ${info.target}; denied`,
  );
};

function compileMap(map: unknown, what: string): Map<string, Rule> {
  const out = new Map<string, Rule>();
  if (map === undefined) return out;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new TypeError(`rbac: ${what} must be an object`);
  for (const [key, value] of Object.entries(map)) {
    try {
      out.set(key, ruleFromData(value as RuleLike));
    } catch (err) {
      throw new TypeError(`rbac: ${what}["${key}"]: ${(err as Error).message.replace(/^rbac: /, '')}`);
    }
  }
  return out;
}

function notFound(kind: TargetKind, target: string, method: HardenedMethod): HardenError {
  if (kind === 'tool') return new HardenError('ERR_NOT_FOUND', `Tool ${target} not found`);
  if (kind === 'prompt') return new HardenError('ERR_NOT_FOUND', `Prompt ${target} not found`);
  if (method === 'completion/complete') {
    return new HardenError('ERR_RESOURCE_NOT_FOUND', `Resource template ${target} not found`);
  }
  return new HardenError('ERR_RESOURCE_NOT_FOUND', `Resource ${target} not found`);
}

function completionVariables(params: Readonly<JsonObject>): Record<string, string> {
  const context = params.context as { arguments?: unknown } | undefined;
  const args = context && typeof context === 'object' ? context.arguments : undefined;
  const out: Record<string, string> = Object.create(null);
  if (args && typeof args === 'object' && !Array.isArray(args)) {
    for (const [k, v] of Object.entries(args)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

type Decision = RuleOutcome & { errored?: boolean; hasRule: boolean };

/** The principal's scopes in one request. */
interface RequestScopes {
  readonly granted: readonly unknown[];
  /** The expanded set handed to rules of the caller's own, once one needed it. */
  own: ReadonlySet<string> | undefined;
}

const NO_SCOPES: readonly unknown[] = Object.freeze([]);
const NO_RULES: readonly Bound[] = Object.freeze([]);
const NO_VARIABLES: Record<string, string> = Object.freeze(Object.create(null));

function boundLists(rules: Map<string, Rule>): Map<string, readonly Bound[]> {
  const out = new Map<string, readonly Bound[]>();
  for (const [key, rule] of rules) out.set(key, Object.freeze([{ rule, variables: NO_VARIABLES }]));
  return out;
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The scopes of one rule, without repeats, in order (what a tally of that rule alone holds). */
function distinct(scopes: readonly string[]): string[] {
  return scopes.length < 2 ? [...scopes] : [...new Set(scopes)];
}

/** `count` then `conclude` for a target with a single rule, without a tally. */
function decideOne(rule: Rule, outcome: RuleOutcome): Decision {
  if (outcome.allowed === true) {
    const requiredScopes = rule.requiredScopes.length === 0 ? undefined : distinct(rule.requiredScopes);
    return {
      allowed: true,
      rule: typeof rule.name === 'string' ? rule.name : [rule.name].join(' & '),
      requiredScopes: requiredScopes?.length ? requiredScopes : undefined,
      hasRule: true,
    };
  }
  if (outcome.scopeOnly === true) {
    return {
      allowed: false,
      rule: typeof outcome.rule === 'string' ? outcome.rule : rule.name,
      reason: 'missing scopes',
      requiredScopes: distinct(outcome.requiredScopes ?? rule.requiredScopes),
      scopeOnly: true,
      hasRule: true,
    };
  }
  return count({ names: [], needed: new Set(), scopeDeny: undefined }, rule, outcome)!;
}

/** One target's evaluation: what every rule of it is given. */
interface Run {
  ctx: HardenContext;
  scopes: RequestScopes;
  kind: TargetKind;
  target: string;
  phase: Phase;
  extraVariables: Record<string, string>;
  bound: readonly Bound[];
}

/** What the rules that did not refuse outright add up to. */
interface Tally {
  /** Names of the rules that allowed. */
  names: string[];
  /** Every scope of every rule that applies (for step-up). */
  needed: Set<string>;
  /** The first refusal that only lacked scopes. */
  scopeDeny: { rule: string } | undefined;
}

const isThenable = (value: unknown): value is PromiseLike<RuleOutcome> =>
  value instanceof Promise ||
  (((typeof value === 'object' && value !== null) || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function');

/** Counts one rule's outcome; returns the decision when it is a refusal that ends the evaluation. */
function count(tally: Tally, rule: Rule, outcome: RuleOutcome | undefined): Decision | undefined {
  if (outcome?.allowed === true) {
    for (const scope of rule.requiredScopes) tally.needed.add(scope);
    tally.names.push(rule.name);
    return undefined;
  }
  const denied: Partial<RuleOutcome> = outcome ?? {};
  if (denied.scopeOnly === true) {
    for (const scope of denied.requiredScopes ?? rule.requiredScopes) tally.needed.add(scope);
    tally.scopeDeny ??= { rule: typeof denied.rule === 'string' ? denied.rule : rule.name };
    return undefined;
  }
  return {
    allowed: false,
    rule: typeof denied.rule === 'string' ? denied.rule : rule.name,
    reason: denied.reason ?? 'denied',
    requiredScopes: rule.requiredScopes.length ? rule.requiredScopes : undefined,
    hasRule: true,
  };
}

/** The decision once every rule has been counted. */
function conclude(tally: Tally): Decision {
  const requiredScopes = [...tally.needed];
  if (tally.scopeDeny) {
    // Only scopes are missing: the call needs every scope of every rule that applies.
    return {
      allowed: false,
      rule: tally.scopeDeny.rule,
      reason: 'missing scopes',
      requiredScopes,
      scopeOnly: true,
      hasRule: true,
    };
  }
  return {
    allowed: true,
    rule: tally.names.join(' & '),
    requiredScopes: requiredScopes.length ? requiredScopes : undefined,
    hasRule: true,
  };
}

/**
 * Authorization middleware: decides for every tool call, prompt, resource read and completion
 * whether the principal may use the target, and filters `tools/list`, `prompts/list`,
 * `resources/list` and `resources/templates/list` to what it may use. Deny by default: a target
 * without a rule (in `options` or in its `withPolicy({ rule })`) is refused, and a refusal looks
 * exactly like an unknown target unless `revealRequiredScopes` is on. Place it after auth.
 *
 * @example
 * ```ts
 * import { harden } from '@mcp-harden/sdk';
 * import { rbac, requireScopes, requireTenant, all } from '@mcp-harden/rbac';
 *
 * const hardened = harden(server, {
 *   use: [auth, rbac({
 *     scopeHierarchy: { 'notes:write': ['notes:read'] },
 *     tools: { 'notes.search': requireScopes('notes:read'), 'notes.write': { scopes: ['notes:write'], tenant: 'own' } },
 *     resources: { 'notes://{tenant}/{id}': all(requireScopes('notes:read'), requireTenant()) },
 *   })],
 * });
 * ```
 */
export function rbac(options: RbacOptions = {}): Middleware {
  if (typeof options !== 'object' || options === null) throw new TypeError('rbac: options must be an object');
  const fallback = options.default ?? 'deny';
  if (fallback !== 'deny' && fallback !== 'allow')
    throw new TypeError("rbac: default must be 'deny' or 'allow'");
  const reveal = options.revealRequiredScopes ?? false;
  if (typeof reveal !== 'boolean') throw new TypeError('rbac: revealRequiredScopes must be a boolean');
  const onError = options.onError ?? defaultOnError;
  if (typeof onError !== 'function') throw new TypeError('rbac: onError must be a function');
  const concurrency = options.listConcurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError('rbac: listConcurrency must be a positive integer');
  }
  const expand = compileScopeHierarchy(options.scopeHierarchy);
  // Expanded scopes by granted-scopes array, for built-in rules only (they never change a set);
  // checked against the array's contents on every use, so a changed array is expanded again.
  const expanded = new WeakMap<readonly unknown[], { granted: unknown[]; scopes: ReadonlySet<string> }>();

  /** The set built-in rules check: the request's own once rules of the caller have it, else shared. */
  function quickScopes(scopes: RequestScopes): ReadonlySet<string> {
    if (scopes.own !== undefined) return scopes.own;
    const { granted } = scopes;
    const known = expanded.get(granted);
    if (known !== undefined && sameItems(known.granted, granted)) return known.scopes;
    const fresh = { granted: [...granted], scopes: expand(granted as readonly string[]) };
    expanded.set(granted, fresh);
    return fresh.scopes;
  }

  /** The set rules of the caller get (they may change it): one per request, made when first needed. */
  function scopesForRules(scopes: RequestScopes): ReadonlySet<string> {
    scopes.own ??= expand(scopes.granted as readonly string[]);
    return scopes.own;
  }
  const tools = compileMap(options.tools, 'tools');
  const prompts = compileMap(options.prompts, 'prompts');
  const resources = compileMap(options.resources, 'resources');
  const templates: Array<{ template: CompiledTemplate; rule: Rule }> = [];
  for (const [key, rule] of resources) {
    // Braces are not legal in a URI: any key with one must be a valid template.
    if (/[{}]/.test(key)) templates.push({ template: compileUriTemplate(key), rule });
  }
  // The rule of each tool and prompt, as bound (no variables), built once.
  const toolBound = boundLists(tools);
  const promptBound = boundLists(prompts);
  // Rules given as data in withPolicy(): converted once per policy object.
  const policyRules = new WeakMap<object, Rule>();

  function policyRule(policy: TargetPolicy | undefined): Rule | undefined {
    if (policy?.rule === undefined) return undefined;
    const raw = policy.rule;
    if (typeof raw === 'object' && raw !== null) {
      const cached = policyRules.get(raw);
      if (cached) return cached;
      const rule = ruleFromData(raw);
      policyRules.set(raw, rule);
      return rule;
    }
    return ruleFromData(raw);
  }

  /** Every rule that applies to a target; all of them must allow. */
  function rulesFor(
    kind: TargetKind,
    target: string,
    policy: TargetPolicy | undefined,
    exactOnly: boolean,
  ): readonly Bound[] {
    if (kind === 'tool' || kind === 'prompt') {
      const configured = (kind === 'tool' ? toolBound : promptBound).get(target);
      const fromPolicy = policyRule(policy);
      if (!fromPolicy) return configured ?? NO_RULES;
      const ofPolicy: Bound = { rule: fromPolicy, variables: NO_VARIABLES };
      return configured ? [configured[0]!, ofPolicy] : [ofPolicy];
    }
    const bound: Bound[] = [];
    const variables: Record<string, string> = Object.create(null);
    const exact = resources.get(target);
    if (exact) bound.push({ rule: exact, variables });
    else if (!exactOnly) {
      // A URI matched by several templates must satisfy all of them: we cannot know which
      // one the server routes it to.
      for (const { template, rule } of templates) {
        const vars = template.match(target);
        if (vars) {
          Object.assign(variables, vars);
          bound.push({ rule, variables: vars });
        }
      }
    }
    const fromPolicy = policyRule(policy);
    if (fromPolicy) bound.push({ rule: fromPolicy, variables });
    return bound;
  }

  /**
   * The decision for one target: every rule bound to it must allow. Synchronous as long as the
   * rules answer synchronously (built-in rules, through their quick checks); a promise otherwise.
   */
  function decide(
    ctx: HardenContext,
    scopes: RequestScopes,
    kind: TargetKind,
    target: string,
    phase: Phase,
    policy: TargetPolicy | undefined,
    extraVariables: Record<string, string>,
  ): Decision | Promise<Decision> {
    let bound: readonly Bound[];
    try {
      bound = rulesFor(kind, target, policy, phase === 'list' && ctx.method === 'resources/templates/list');
    } catch (err) {
      // A malformed rule in withPolicy(): fail closed.
      onError(err, { method: ctx.method, kind, target, rule: 'policy.rule' });
      return { allowed: false, rule: 'policy.rule', reason: 'invalid rule', errored: true, hasRule: true };
    }
    if (bound.length === 0) {
      return fallback === 'allow'
        ? { allowed: true, rule: 'default:allow', hasRule: false }
        : { allowed: false, rule: 'default:deny', reason: 'no rule', hasRule: false };
    }
    if (bound.length === 1) {
      // the usual case, one built-in rule: no tally to keep
      const only = bound[0]!.rule;
      const outcome = quickCheckOf(only)?.(ctx.principal!, quickScopes(scopes));
      if (outcome !== undefined) return decideOne(only, outcome);
    }
    const tally: Tally = { names: [], needed: new Set(), scopeDeny: undefined };
    return evaluate({ ctx, scopes, kind, target, phase, extraVariables, bound }, 0, tally);
  }

  /** Runs the bound rules from `start` on, without waiting until a rule answers with a promise. */
  function evaluate(run: Run, start: number, tally: Tally): Decision | Promise<Decision> {
    const { ctx, bound } = run;
    for (let i = start; i < bound.length; i++) {
      const { rule, variables } = bound[i]!;
      let outcome: RuleOutcome | undefined = quickCheckOf(rule)?.(ctx.principal!, quickScopes(run.scopes));
      if (outcome === undefined) {
        const input: RuleInput = {
          principal: ctx.principal!,
          scopes: scopesForRules(run.scopes),
          kind: run.kind,
          target: run.target,
          method: ctx.method,
          phase: run.phase,
          arguments: run.phase === 'call' ? (ctx.arguments ?? {}) : {},
          variables: { ...variables, ...run.extraVariables },
          context: ctx,
        };
        let answer: RuleOutcome | Promise<RuleOutcome>;
        try {
          answer = rule.check(input);
        } catch (err) {
          return ruleError(run, rule, err);
        }
        if (isThenable(answer)) return settle(run, i, answer, tally);
        outcome = answer;
      }
      const decided = count(tally, rule, outcome);
      if (decided) return decided;
    }
    return conclude(tally);
  }

  async function settle(
    run: Run,
    at: number,
    answer: PromiseLike<RuleOutcome>,
    tally: Tally,
  ): Promise<Decision> {
    let outcome: RuleOutcome | undefined;
    try {
      outcome = await answer;
    } catch (err) {
      return ruleError(run, run.bound[at]!.rule, err);
    }
    return count(tally, run.bound[at]!.rule, outcome) ?? evaluate(run, at + 1, tally);
  }

  function ruleError(run: Run, rule: Rule, err: unknown): Decision {
    const name = err instanceof RuleEvaluationError ? err.rule : rule.name;
    onError(err, { method: run.ctx.method, kind: run.kind, target: run.target, rule: name });
    return { allowed: false, rule: name, reason: 'rule error', errored: true, hasRule: true };
  }

  function record(ctx: HardenContext, outcome: RuleOutcome): void {
    const decision: AuthorizationDecision = { allowed: outcome.allowed, rule: outcome.rule };
    if (outcome.reason !== undefined) decision.reason = outcome.reason;
    if (outcome.requiredScopes?.length) decision.requiredScopes = [...outcome.requiredScopes];
    ctx.state.authorization = decision;
  }

  async function filterList(
    ctx: HardenContext,
    method: ListMethodKey,
    result: McpResult,
    scopes: RequestScopes,
  ) {
    const [field, kind, key] = LIST_KEYS[method];
    const items = result[field];
    // An answer we cannot read is not passed on: fail closed.
    if (!Array.isArray(items)) return { ...result, [field]: [] };
    const keep = new Array<boolean>(items.length).fill(false);
    let index = 0;
    const worker = async () => {
      while (index < items.length) {
        const i = index++;
        const item = items[i] as Record<string, unknown> | null;
        const target = typeof item === 'object' && item !== null ? item[key] : undefined;
        if (typeof target !== 'string') continue;
        const decided = decide(ctx, scopes, kind, target, 'list', ctx.lookupPolicy(kind, target), {});
        keep[i] = (decided instanceof Promise ? await decided : decided).allowed;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
    const visible = items.filter((_, i) => keep[i]);
    record(ctx, {
      allowed: true,
      rule: 'list-filter',
      reason: `showed ${visible.length} of ${items.length}`,
    });
    return { ...result, [field]: visible };
  }

  return defineMiddleware('rbac', async function authorize(ctx, next) {
    if (!ctx.principal) {
      ctx.state.authorization = { allowed: false, rule: 'authentication', reason: 'no principal' };
      throw new HardenError('ERR_UNAUTHENTICATED');
    }
    const granted: readonly unknown[] = Array.isArray(ctx.principal.scopes)
      ? ctx.principal.scopes
      : NO_SCOPES;
    if (isList(ctx.method)) {
      const method = ctx.method;
      // taken before the call runs, as the principal's scopes are then
      const scopes: RequestScopes = { granted, own: expand(granted as readonly string[]) };
      const result = await next();
      return filterList(ctx, method, result, scopes);
    }
    const scopes: RequestScopes = { granted, own: undefined };
    const kind = ctx.targetKind;
    const target = ctx.target;
    if (kind === undefined || target === undefined) {
      ctx.state.authorization = { allowed: false, rule: 'default:deny', reason: 'no target' };
      throw new HardenError('ERR_INVALID_PARAMS', 'Unsupported reference');
    }
    const extra = ctx.method === 'completion/complete' ? completionVariables(ctx.params) : {};
    const decided = decide(ctx, scopes, kind, target, 'call', ctx.policy, extra);
    // built-in rules decide without a wait
    const outcome = decided instanceof Promise ? await decided : decided;
    record(ctx, outcome);
    if (outcome.allowed) return next();
    // A rule that failed to evaluate is a server fault, not a decision: refuse plainly (it was reported).
    if (outcome.errored) throw new HardenError('ERR_FORBIDDEN', 'Forbidden');
    if (reveal && outcome.hasRule) {
      if (outcome.scopeOnly && outcome.requiredScopes?.length) {
        throw new HardenError('ERR_INSUFFICIENT_SCOPE', 'Insufficient scope', {
          data: { requiredScopes: [...outcome.requiredScopes] },
        });
      }
      throw new HardenError('ERR_FORBIDDEN', 'Forbidden');
    }
    throw notFound(kind, target, ctx.method);
  });
}
