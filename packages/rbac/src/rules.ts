import type { HardenContext, HardenedMethod, JsonObject, Principal, TargetKind } from '@mcp-harden/core';
import { type CompiledTemplate, compileUriTemplate } from './uri-template.js';

/** What a rule sees when it decides. */
export interface RuleInput {
  /** The authenticated caller (rbac refuses requests without one before any rule runs). */
  readonly principal: Principal;
  /** The principal's scopes plus every scope they imply through `scopeHierarchy`. */
  readonly scopes: ReadonlySet<string>;
  /** Kind of the target. */
  readonly kind: TargetKind;
  /** Tool or prompt name, resource URI, or resource template (in lists and completions). */
  readonly target: string;
  /** The request's method (for list filtering, the list method). */
  readonly method: HardenedMethod;
  /** `call` for a use of the target, `list` when deciding whether a list may name it. */
  readonly phase: 'call' | 'list';
  /** Call arguments; `{}` when listing. Untrusted input. */
  readonly arguments: Readonly<JsonObject>;
  /** Variables of the matched resource URI template (and completion context arguments). */
  readonly variables: Readonly<Record<string, string>>;
  /** The full request context. */
  readonly context: HardenContext;
}

/** The result of a rule. */
export interface RuleOutcome {
  readonly allowed: boolean;
  /** Name of the rule that decided. */
  readonly rule: string;
  /** Short, value-free reason (`missing scopes`, `tenant mismatch`, ...). */
  readonly reason?: string;
  /** Scopes that would make this rule allow (present when it failed only on scopes). */
  readonly requiredScopes?: readonly string[];
  /** True when a step-up to `requiredScopes` alone would turn the deny into an allow. */
  readonly scopeOnly?: boolean;
}

/**
 * An authorization rule: a plain object with a name, the scopes it always needs, and a check.
 * Build rules with {@link requireScopes}, {@link requireRoles}, {@link requireTenant},
 * {@link allowIf}, {@link all}, {@link any}, or from data with `ruleFromData`.
 *
 * @example
 * ```ts
 * import { all, requireRoles, requireScopes } from '@mcp-harden/rbac';
 * const rule = all(requireScopes('notes:write'), requireRoles('editor', 'admin'));
 * rule.name; // 'all(requireScopes(notes:write), requireRoles(editor|admin))'
 * ```
 */
export interface Rule {
  readonly name: string;
  /** Scopes this rule needs in every case (for step-up and documentation). */
  readonly requiredScopes: readonly string[];
  check(input: RuleInput): RuleOutcome | Promise<RuleOutcome>;
}

/** Thrown out of a rule whose predicate failed; rbac turns it into a deny. */
export class RuleEvaluationError extends Error {
  override readonly name = 'RuleEvaluationError';
  constructor(
    readonly rule: string,
    cause: unknown,
  ) {
    super(`rule ${rule} failed`, { cause });
  }
}

/**
 * True when `value` is a {@link Rule} object (as opposed to rule data).
 *
 * @example
 * ```ts
 * isRule(requireScopes('a')); // true
 * isRule({ scopes: ['a'] }); // false
 * ```
 */
export function isRule(value: unknown): value is Rule {
  const candidate = value as Partial<Rule> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.name === 'string' &&
    typeof candidate.check === 'function' &&
    Array.isArray(candidate.requiredScopes)
  );
}

function stringList(values: readonly unknown[], what: string, fn: string): string[] {
  if (values.length === 0) throw new TypeError(`rbac: ${fn}() needs at least one ${what}`);
  return values.map((v) => {
    if (typeof v !== 'string' || v.length === 0 || /\s/.test(v)) {
      throw new TypeError(`rbac: ${fn}() takes non-empty ${what} strings without spaces`);
    }
    return v;
  });
}

/**
 * Built-in rules whose decision needs only the principal and its (expanded) scopes also get a
 * synchronous "quick" check with the same outcome, keyed by their `check` function: rbac runs it
 * without building a {@link RuleInput} or waiting, and a rule whose `check` was replaced has none.
 * `undefined` means "no quick answer" (a nested rule without one): rbac then calls `check`.
 */
type QuickCheck = (principal: Principal, scopes: ReadonlySet<string>) => RuleOutcome | undefined;

const quickChecks = new WeakMap<Rule['check'], QuickCheck>();

/** @internal The quick check of a built-in rule whose `check` is its own, if any. */
export function quickCheckOf(rule: Rule): QuickCheck | undefined {
  return quickChecks.get(rule.check);
}

function withQuickCheck<R extends Rule>(rule: R, quick: QuickCheck): R {
  quickChecks.set(rule.check, quick);
  return rule;
}

const allow = (rule: string): RuleOutcome => ({ allowed: true, rule });
const deny = (rule: string, reason: string, extra: Partial<RuleOutcome> = {}): RuleOutcome => ({
  allowed: false,
  rule,
  reason,
  ...extra,
});

/**
 * Allows when the principal holds every listed scope (directly or implied by `scopeHierarchy`).
 *
 * @example
 * ```ts
 * rbac({ tools: { 'notes.write': requireScopes('notes:write') } });
 * ```
 */
export function requireScopes(...scopes: string[]): Rule {
  const needed = [...new Set(stringList(scopes, 'scope', 'requireScopes'))];
  const name = `requireScopes(${needed.join(' ')})`;
  const allowed = Object.freeze(allow(name));
  const denied = Object.freeze(deny(name, 'missing scopes', { requiredScopes: needed, scopeOnly: true }));
  return withQuickCheck(
    {
      name,
      requiredScopes: needed,
      check(input) {
        return needed.every((s) => input.scopes.has(s))
          ? allow(name)
          : deny(name, 'missing scopes', { requiredScopes: needed, scopeOnly: true });
      },
    },
    (_principal, scopes) => (needed.every((s) => scopes.has(s)) ? allowed : denied),
  );
}

/**
 * Allows when the principal holds at least one of the listed roles. Use `all(requireRoles(a),
 * requireRoles(b))` to need several.
 *
 * @example
 * ```ts
 * rbac({ tools: { 'notes.delete': requireRoles('admin') } });
 * ```
 */
export function requireRoles(...roles: string[]): Rule {
  const accepted = [...new Set(stringList(roles, 'role', 'requireRoles'))];
  const name = `requireRoles(${accepted.join('|')})`;
  const allowed = Object.freeze(allow(name));
  const denied = Object.freeze(deny(name, 'missing role'));
  return withQuickCheck(
    {
      name,
      requiredScopes: [],
      check(input) {
        const held = input.principal.roles;
        return Array.isArray(held) && accepted.some((r) => held.includes(r))
          ? allow(name)
          : deny(name, 'missing role');
      },
    },
    (principal) => {
      const held = principal.roles;
      return Array.isArray(held) && accepted.some((r) => held.includes(r)) ? allowed : denied;
    },
  );
}

/** Options of {@link requireTenant}. */
export interface RequireTenantOptions {
  /** Argument naming the tenant in `tools/call`, `prompts/get` and completions. Default `tenant`. */
  argument?: string;
  /** Resource URI template variable naming the tenant. Default `tenant`. */
  variable?: string;
  /**
   * URI template the rule matches resource URIs against itself, for rules declared with
   * `withPolicy` (where rbac does not know the template). Level 1 only: `notes://{tenant}/{id}`.
   */
  template?: string;
  /** When a call names no tenant at all: `deny` (default) or `allow` (the tool uses the principal's). */
  whenMissing?: 'deny' | 'allow';
}

/**
 * Tenant isolation: the principal must have a tenant, and every tenant the call names (the
 * `tenant` argument, the `{tenant}` URI variable) must be exactly the principal's own. In lists,
 * a resource URI naming another tenant is hidden.
 *
 * @example
 * ```ts
 * rbac({ resources: { 'notes://{tenant}/{id}': all(requireScopes('notes:read'), requireTenant()) } });
 * ```
 */
export function requireTenant(options: RequireTenantOptions = {}): Rule {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('rbac: requireTenant() options must be an object');
  const argument = options.argument ?? 'tenant';
  const variable = options.variable ?? 'tenant';
  const whenMissing = options.whenMissing ?? 'deny';
  for (const [key, value] of [
    ['argument', argument],
    ['variable', variable],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0)
      throw new TypeError(`rbac: requireTenant() ${key} must be a non-empty string`);
  }
  if (whenMissing !== 'deny' && whenMissing !== 'allow') {
    throw new TypeError("rbac: requireTenant() whenMissing must be 'deny' or 'allow'");
  }
  let template: CompiledTemplate | undefined;
  if (options.template !== undefined) {
    if (typeof options.template !== 'string')
      throw new TypeError('rbac: requireTenant() template must be a string');
    template = compileUriTemplate(options.template);
    if (!template.names.includes(variable)) {
      throw new TypeError(
        `rbac: requireTenant() template "${options.template}" has no {${variable}} variable`,
      );
    }
  }
  const name = 'requireTenant';
  return {
    name,
    requiredScopes: [],
    check(input) {
      const own = input.principal.tenant;
      if (typeof own !== 'string' || own.length === 0) return deny(name, 'principal has no tenant');
      const named: unknown[] = [];
      const hasOwn = (o: object, k: string) => Object.hasOwn(o, k);
      if (hasOwn(input.variables, variable)) named.push(input.variables[variable]);
      if (template && input.kind === 'resource') {
        const vars = template.match(input.target);
        const value = vars && hasOwn(vars, variable) ? vars[variable] : undefined;
        // A listed resource template matches itself with `{tenant}` as the value: that names no tenant.
        const placeholder = input.phase === 'list' && value === `{${variable}}`;
        if (value !== undefined && !placeholder) named.push(value);
      }
      if (input.phase === 'call' && hasOwn(input.arguments, argument)) named.push(input.arguments[argument]);
      if (named.length === 0) {
        // A listed tool or template names no tenant yet: it is usable with the principal's own.
        if (input.phase === 'list' || whenMissing === 'allow') return allow(name);
        return deny(name, 'tenant missing');
      }
      return named.every((t) => t === own) ? allow(name) : deny(name, 'tenant mismatch');
    },
  };
}

/** Options of {@link allowIf}. */
export interface AllowIfOptions {
  /** Name shown in decisions (`allowIf(<name>)`); defaults to the function's name. */
  name?: string;
}

/**
 * Attribute-based rule: allows when `predicate` returns (or resolves to) exactly `true`. Anything
 * else denies; a throw or rejection denies and is reported through rbac's `onError`. When
 * listing, `input.phase` is `list` and `input.arguments` is `{}`: return true to show the target.
 *
 * @example
 * ```ts
 * const smallTransfers = allowIf((i) => typeof i.arguments.amount === 'number' && i.arguments.amount <= 100, {
 *   name: 'amount<=100',
 * });
 * ```
 */
export function allowIf(
  predicate: (input: RuleInput) => boolean | Promise<boolean>,
  options: AllowIfOptions = {},
): Rule {
  if (typeof predicate !== 'function') throw new TypeError('rbac: allowIf() needs a predicate function');
  const label = options.name ?? (predicate.name || 'predicate');
  if (typeof label !== 'string' || label.length === 0)
    throw new TypeError('rbac: allowIf() name must be a non-empty string');
  const name = `allowIf(${label})`;
  return {
    name,
    requiredScopes: [],
    async check(input) {
      let result: unknown;
      try {
        result = await predicate(input);
      } catch (err) {
        throw new RuleEvaluationError(name, err);
      }
      return result === true ? allow(name) : deny(name, 'predicate denied');
    },
  };
}

function checkRules(rules: readonly Rule[], fn: string): Rule[] {
  if (rules.length === 0) throw new TypeError(`rbac: ${fn}() needs at least one rule`);
  rules.forEach((r, i) => {
    if (!isRule(r)) throw new TypeError(`rbac: ${fn}() argument ${i} is not a rule`);
  });
  return [...rules];
}

/** `all`'s refusal when every failing part only lacked scopes: all scopes of every part at once. */
function missingAll(scopeDeny: RuleOutcome, requiredScopes: string[]): RuleOutcome {
  return deny(scopeDeny.rule, 'missing scopes', { requiredScopes, scopeOnly: true });
}

/** The step-up `any` offers: of the scope-only refusals, the one needing the fewest scopes. */
function fewestScopes(stepUp: RuleOutcome | undefined, outcome: RuleOutcome): RuleOutcome | undefined {
  if (outcome.scopeOnly !== true || !outcome.requiredScopes) return stepUp;
  return !stepUp || outcome.requiredScopes.length < (stepUp.requiredScopes?.length ?? 0) ? outcome : stepUp;
}

/** `any`'s refusal when no part allowed. */
function noneAllowed(name: string, stepUp: RuleOutcome | undefined): RuleOutcome {
  return stepUp
    ? deny(name, 'missing scopes', { requiredScopes: stepUp.requiredScopes, scopeOnly: true })
    : deny(name, 'no alternative allowed');
}

/**
 * Allows when every rule allows. Rules run in order; a deny that is not about scopes stops.
 *
 * @example
 * ```ts
 * all(requireScopes('notes:read'), requireTenant());
 * ```
 */
export function all(...rules: Rule[]): Rule {
  const parts = checkRules(rules, 'all');
  const name = `all(${parts.map((r) => r.name).join(', ')})`;
  const requiredScopes = [...new Set(parts.flatMap((r) => r.requiredScopes))];
  const allowed = Object.freeze(allow(name));
  return withQuickCheck(
    {
      name,
      requiredScopes,
      async check(input) {
        let scopeDeny: RuleOutcome | undefined;
        for (const part of parts) {
          const outcome = await part.check(input);
          if (outcome.allowed === true) continue;
          if (outcome.scopeOnly !== true) return outcome;
          scopeDeny ??= outcome;
        }
        return scopeDeny ? missingAll(scopeDeny, requiredScopes) : allow(name);
      },
    },
    // the same steps as `check`, for parts that all have a quick check
    (principal, scopes) => {
      let scopeDeny: RuleOutcome | undefined;
      for (const part of parts) {
        const outcome = quickCheckOf(part)?.(principal, scopes);
        if (outcome === undefined) return undefined;
        if (outcome.allowed === true) continue;
        if (outcome.scopeOnly !== true) return outcome;
        scopeDeny ??= outcome;
      }
      return scopeDeny ? missingAll(scopeDeny, requiredScopes) : allowed;
    },
  );
}

/**
 * Allows when at least one rule allows; rules run in order and the first allow wins.
 *
 * @example
 * ```ts
 * any(requireRoles('admin'), requireScopes('notes:admin'));
 * ```
 */
export function any(...rules: Rule[]): Rule {
  const parts = checkRules(rules, 'any');
  const name = `any(${parts.map((r) => r.name).join(', ')})`;
  // Needed in every case: the scopes every alternative needs.
  const requiredScopes = parts
    .map((r) => r.requiredScopes)
    .reduce((common, next) => common.filter((s) => next.includes(s)));
  return withQuickCheck(
    {
      name,
      requiredScopes,
      async check(input) {
        let stepUp: RuleOutcome | undefined;
        for (const part of parts) {
          const outcome = await part.check(input);
          if (outcome.allowed === true) return outcome;
          stepUp = fewestScopes(stepUp, outcome);
        }
        return noneAllowed(name, stepUp);
      },
    },
    // the same steps as `check`, for parts that all have a quick check
    (principal, scopes) => {
      let stepUp: RuleOutcome | undefined;
      for (const part of parts) {
        const outcome = quickCheckOf(part)?.(principal, scopes);
        if (outcome === undefined) return undefined;
        if (outcome.allowed === true) return outcome;
        stepUp = fewestScopes(stepUp, outcome);
      }
      return noneAllowed(name, stepUp);
    },
  );
}

const ALLOWED_ALL = Object.freeze(allow('allowAll'));
const DENIED_ALL = Object.freeze(deny('denyAll', 'denied by rule'));

/**
 * Allows every authenticated principal. Explicit, so "open to everyone" is a reviewed decision.
 *
 * @example
 * ```ts
 * rbac({ tools: { ping: allowAll } });
 * ```
 */
export const allowAll: Rule = withQuickCheck(
  Object.freeze({
    name: 'allowAll',
    requiredScopes: Object.freeze([]) as readonly string[],
    check: () => allow('allowAll'),
  }),
  () => ALLOWED_ALL,
);

/**
 * Denies everyone; useful to switch a target off in a policy file.
 *
 * @example
 * ```ts
 * rbac({ tools: { 'legacy.export': denyAll } });
 * ```
 */
export const denyAll: Rule = withQuickCheck(
  Object.freeze({
    name: 'denyAll',
    requiredScopes: Object.freeze([]) as readonly string[],
    check: () => deny('denyAll', 'denied by rule'),
  }),
  () => DENIED_ALL,
);
