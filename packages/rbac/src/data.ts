import {
  all,
  allowAll,
  any,
  denyAll,
  isRule,
  type RequireTenantOptions,
  type Rule,
  requireRoles,
  requireScopes,
  requireTenant,
} from './rules.js';

/**
 * A rule as JSON-able data, for policy files. Keys in one object must all hold (`all`):
 * `scopes` (every one), `roles` (at least one), `tenant` (`'own'` or {@link RequireTenantOptions}
 * without functions), `all` / `any` (nested rule data). The strings `'allow'` and `'deny'` stand
 * for {@link allowAll} and {@link denyAll}.
 *
 * @example
 * ```ts
 * const data: RuleData = { scopes: ['notes:write'], roles: ['editor', 'admin'], tenant: 'own' };
 * ```
 */
export type RuleData =
  | 'allow'
  | 'deny'
  | {
      scopes?: string[];
      roles?: string[];
      tenant?: 'own' | Pick<RequireTenantOptions, 'argument' | 'variable' | 'template' | 'whenMissing'>;
      all?: RuleData[];
      any?: RuleData[];
    };

/** A rule in either form: a {@link Rule} object or {@link RuleData}. */
export type RuleLike = Rule | RuleData;

const KEYS = new Set(['scopes', 'roles', 'tenant', 'all', 'any']);
const TENANT_KEYS = new Set(['argument', 'variable', 'template', 'whenMissing']);

function strings(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new TypeError(`rbac: ${path} must be an array of strings`);
  }
  return value as string[];
}

function convert(data: unknown, path: string): Rule {
  if (data === 'allow') return allowAll;
  if (data === 'deny') return denyAll;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TypeError(`rbac: ${path} must be 'allow', 'deny' or a rule object`);
  }
  const entries = Object.entries(data);
  if (entries.length === 0) {
    throw new TypeError(`rbac: ${path} is an empty rule; write 'allow' to allow every authenticated caller`);
  }
  const parts: Rule[] = [];
  for (const [key, value] of entries) {
    if (!KEYS.has(key)) throw new TypeError(`rbac: ${path} has an unknown key "${key}"`);
    if (value === undefined) continue;
    const at = `${path}.${key}`;
    if (key === 'scopes') parts.push(requireScopes(...strings(value, at)));
    else if (key === 'roles') parts.push(requireRoles(...strings(value, at)));
    else if (key === 'tenant') {
      if (value === 'own') parts.push(requireTenant());
      else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        for (const k of Object.keys(value)) {
          if (!TENANT_KEYS.has(k)) throw new TypeError(`rbac: ${at} has an unknown key "${k}"`);
        }
        parts.push(requireTenant(value as RequireTenantOptions));
      } else throw new TypeError(`rbac: ${at} must be 'own' or an object`);
    } else {
      if (!Array.isArray(value) || value.length === 0)
        throw new TypeError(`rbac: ${at} must be a non-empty array`);
      const nested = value.map((item, i) => convert(item, `${at}[${i}]`));
      parts.push(key === 'all' ? all(...nested) : any(...nested));
    }
  }
  if (parts.length === 0) throw new TypeError(`rbac: ${path} has no conditions`);
  return parts.length === 1 ? parts[0]! : all(...parts);
}

/**
 * Turns rule data (from a policy file) into a {@link Rule}; a `Rule` passes through unchanged.
 * Anything malformed or empty throws `TypeError`, so a bad policy fails at load time.
 *
 * @example
 * ```ts
 * import { rbac, ruleFromData } from '@mcp-harden/rbac';
 * const rule = ruleFromData({ scopes: ['notes:read'], tenant: 'own' });
 * rbac({ resources: { 'notes://{tenant}/{id}': rule } });
 * ```
 */
export function ruleFromData(data: RuleLike): Rule {
  if (isRule(data)) return data;
  return convert(data, 'rule');
}
