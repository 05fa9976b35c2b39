import { type ClaimMapping, principalFromClaims } from '@mcp-harden/auth';
import {
  createContext,
  type HardenedMethod,
  isHardenError,
  type JsonObject,
  type Middleware,
  type Principal,
  type TargetKind,
} from '@mcp-harden/core';
import { rbac } from '@mcp-harden/rbac';
import { rbacOptionsOf } from './from-policy.js';
import type { EffectivePolicy, LoadedPolicy } from './load.js';
import type { PolicyTarget } from './schema.js';

/** The call to explain: one of `tool`, `prompt` or `resource`, and who makes it. */
export interface ExplainRequest {
  /** Tool name. */
  tool?: string;
  /** Prompt name. */
  prompt?: string;
  /** Resource URI (concrete, `notes://acme/1`). */
  resource?: string;
  /** Call arguments (rules such as `tenant: own` read them). Default `{}`. */
  arguments?: JsonObject;
  /** The caller; `null` explains an unauthenticated call. */
  principal: Principal | null;
}

/** Options of {@link explain}. */
export interface ExplainOptions {
  /**
   * The authorization middleware to ask: `fromPolicy(policy).parts.authorization` of a running
   * server. Default: a fresh `rbac()` built from the policy the same way.
   */
  authorization?: Middleware;
}

/** Budgets that apply to the call. */
export interface ExplainLimits {
  /** Points the call costs. */
  cost: number;
  /** The principal+target budget (the target's own `rateLimit.limit`, else `limits.principalTool`). */
  principalTool?: { points: number; duration: number };
  principal?: { points: number; duration: number };
  tenant?: { points: number; duration: number };
  session?: { points: number; duration: number };
  global?: { points: number; duration: number };
  /** Concurrency caps (`tool` is the target's own cap when it declares one). */
  concurrency?: { global?: number; principal?: number; tool?: number };
}

/** What {@link explain} answers. */
export interface Explanation {
  /** Would the call pass authorization? */
  allowed: boolean;
  kind: TargetKind;
  target: string;
  /** The rule that decided, as rbac names it (`requireScopes(notes:read)`, `default:deny`, ...). */
  rule: string;
  /** rbac's value-free reason (`missing scopes`, `tenant mismatch`, ...). */
  reason?: string;
  /** Scopes the target needs, when the decision is about scopes. */
  requiredScopes?: string[];
  /** The error code a client would receive when refused (`ERR_NOT_FOUND`, `ERR_UNAUTHENTICATED`, ...). */
  errorCode?: string;
  /** Rate limits and caps that would then apply; absent when the policy sets none. */
  limits?: ExplainLimits;
  /** The target's time-out, ms. */
  timeoutMs?: number;
  /** Deprecation of the target, when declared. */
  deprecation?: PolicyTarget['deprecation'];
  version?: string;
}

const METHOD: Record<TargetKind, HardenedMethod> = {
  tool: 'tools/call',
  prompt: 'prompts/get',
  resource: 'resources/read',
};

function findTarget(policy: EffectivePolicy, kind: TargetKind, target: string): PolicyTarget | undefined {
  const map = policy[kind === 'tool' ? 'tools' : kind === 'prompt' ? 'prompts' : 'resources'] ?? {};
  if (Object.hasOwn(map, target)) return map[target];
  if (kind !== 'resource') return undefined;
  // A resource URI matched against templates: `{var}` matches one path segment.
  for (const [key, entry] of Object.entries(map)) {
    if (!/[{}]/.test(key)) continue;
    const pattern = key
      .split(/(\{[^}]+\})/)
      .map((part) => (part.startsWith('{') ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    if (new RegExp(`^${pattern}$`).test(target)) return entry;
  }
  return undefined;
}

function limitsOf(policy: EffectivePolicy, target: PolicyTarget | undefined): ExplainLimits | undefined {
  const rl = policy.rateLimit;
  if (!rl) return undefined;
  const own = target?.rateLimit;
  const limits: ExplainLimits = { cost: own?.cost ?? rl.defaultCost ?? 1 };
  const principalTool = own?.limit ?? rl.limits?.principalTool;
  if (principalTool) limits.principalTool = principalTool;
  for (const level of ['principal', 'tenant', 'session', 'global'] as const) {
    const l = rl.limits?.[level];
    if (l) limits[level] = l;
  }
  const concurrency = { ...rl.concurrency, ...(own?.concurrency ? { tool: own.concurrency } : {}) };
  if (Object.keys(concurrency).length > 0) limits.concurrency = concurrency;
  return limits;
}

/**
 * Would this call be allowed, by which rule, at what limit? The decision is made by the same
 * `rbac` middleware `fromPolicy` builds (run on a context for the call, with nothing behind it),
 * so it cannot disagree with a running server on the same policy. Pass that server's own
 * `parts.authorization` to ask the very instance it runs. Budgets are reported, not consumed:
 * `explain` does not know how much of them is spent.
 *
 * @example
 * ```ts
 * import { explain, loadPolicy } from '@mcp-harden/policy';
 * const why = await explain(await loadPolicy('policy.yaml'), {
 *   tool: 'notes.write',
 *   principal: { subject: 'alice', scopes: ['notes:read'], roles: [], claims: {} },
 * });
 * // { allowed: false, rule: 'requireScopes(notes:write)', reason: 'missing scopes', errorCode: 'ERR_NOT_FOUND', ... }
 * ```
 */
export async function explain(
  policy: LoadedPolicy,
  request: ExplainRequest,
  options: ExplainOptions = {},
): Promise<Explanation> {
  if (!policy?.effective) throw new TypeError('explain: pass the result of loadPolicy() or parsePolicy()');
  const given = (['tool', 'prompt', 'resource'] as const).filter((k) => request?.[k] !== undefined);
  if (given.length !== 1) throw new TypeError('explain: give exactly one of tool, prompt or resource');
  const kind = given[0]!;
  const target = request[kind]!;
  if (typeof target !== 'string' || target === '')
    throw new TypeError(`explain: ${kind} must be a non-empty string`);
  const p = policy.effective;
  const params: JsonObject =
    kind === 'resource' ? { uri: target } : { name: target, arguments: request.arguments ?? {} };
  const ctx = createContext({
    method: METHOD[kind],
    params,
    ...(request.principal ? { principal: request.principal } : {}),
  });
  if (options.authorization !== undefined && typeof options.authorization !== 'function') {
    throw new TypeError('explain: options.authorization must be the rbac middleware of fromPolicy()');
  }
  const authorize = options.authorization ?? rbac({ ...rbacOptionsOf(p), onError: () => {} });
  let errorCode: string | undefined;
  try {
    await authorize(ctx, async () => ({}));
  } catch (err) {
    errorCode = isHardenError(err) ? err.code : 'ERR_INTERNAL';
  }
  const decision = ctx.state.authorization ?? { allowed: false, rule: 'unknown' };
  const entry = findTarget(p, kind, target);
  const out: Explanation = {
    allowed: errorCode === undefined && decision.allowed,
    kind,
    target,
    rule: decision.rule,
  };
  if (decision.reason) out.reason = decision.reason;
  if (decision.requiredScopes) out.requiredScopes = [...decision.requiredScopes];
  if (errorCode) out.errorCode = errorCode;
  const limits = limitsOf(p, entry);
  if (limits) out.limits = limits;
  const timeoutMs = entry?.timeoutMs ?? p.timeouts?.defaultMs;
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  if (entry?.deprecation) out.deprecation = entry.deprecation;
  if (entry?.version) out.version = entry.version;
  return out;
}

/** A principal document (`{"subject","scopes","roles","tenant"}`) read as claims under these names. */
const PRINCIPAL_DOCUMENT: ClaimMapping = {
  subject: 'subject',
  clientId: 'clientId',
  scopes: 'scopes',
  roles: 'roles',
  tenant: 'tenant',
};

/**
 * Turns a claims document (a decoded token payload) into the principal `@mcp-harden/auth` would
 * build from it, using the policy's `authentication.bearer.claims` mapping. A document that
 * already has `subject` is taken as a principal as is.
 *
 * @example
 * ```ts
 * principalFromClaimsFile(policy, { sub: 'alice', scope: 'notes:read', roles: ['editor'], tenant: 'acme' });
 * // { subject: 'alice', scopes: ['notes:read'], roles: ['editor'], tenant: 'acme', claims: {...} }
 * ```
 */
export function principalFromClaimsFile(policy: LoadedPolicy, claims: JsonObject): Principal {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new TypeError('claims must be a JSON object');
  }
  // The same mapping code as the running server's bearerAuth, so explain cannot drift from it.
  const principal =
    typeof claims.subject === 'string'
      ? principalFromClaims(claims, PRINCIPAL_DOCUMENT, { authMethod: 'static' })
      : principalFromClaims(claims, policy.effective.authentication?.bearer?.claims ?? {}, {
          authMethod: 'jwt',
        });
  if (principal === undefined) throw new TypeError('claims have no subject (sub)');
  return principal;
}
