import { readFileSync } from 'node:fs';
import { type AuditMiddleware, type AuditSink, audit, fileSink, stdoutSink } from '@mcp-harden/audit';
import { type Authenticator, anyOf, apiKeys, bearerAuth, type ChallengeOptions } from '@mcp-harden/auth';
import type { Middleware, TargetPolicy } from '@mcp-harden/core';
import { type RateLimitOptions, type RedisStoreOptions, rateLimit } from '@mcp-harden/rate-limit';
import { type RbacOptions, type RuleData, rbac } from '@mcp-harden/rbac';
import { type BuiltinRuleName, type SanitizeOptions, sanitize } from '@mcp-harden/sanitize';
import { type TelemetryOptions, telemetry } from '@mcp-harden/telemetry';
import { parseVersionedName, type VersioningOptions, versioning } from '@mcp-harden/versioning';
import type { EffectivePolicy, LoadedPolicy } from './load.js';
import { type PolicyTarget, SECRET_REFERENCE } from './schema.js';

/** Declared policies by target, the shape `harden(server, { policies })` of `@mcp-harden/sdk` takes. */
export interface PolicyMap {
  tools?: Record<string, TargetPolicy>;
  prompts?: Record<string, TargetPolicy>;
  resources?: Record<string, TargetPolicy>;
}

/**
 * The `WWW-Authenticate` challenge of the bearer verifier built from the file: what only code
 * knows, this server's public RFC 9728 metadata URL and the scopes a client should ask for.
 */
export interface PolicyChallenge {
  /** URL of this server's protected-resource metadata (`resourceMetadataUrl()` of `@mcp-harden/auth`). */
  resourceMetadataUrl: string | URL;
  /** Scopes a client should request (RFC 6750 `scope`). */
  scopes?: readonly string[];
}

/**
 * What code supplies that a file cannot hold: clients, providers, an authenticator for stdio.
 * `A` is the type of {@link FromPolicyOptions.authentication} when given (then
 * `parts.authentication` has that type), otherwise auth's `Authenticator`.
 */
export interface FromPolicyOptions<A extends Middleware = Authenticator> {
  /**
   * Authentication middleware to use instead of the file's `authentication` section (for
   * example `staticPrincipal(...)` on stdio, or a custom authenticator).
   */
  authentication?: A;
  /**
   * The 401 challenge of the file's `authentication.bearer` verifier (passed to `bearerAuth`'s
   * `challenge` option): without it a token-less request gets a bare `Bearer` challenge. Needs a
   * `bearer` section in the file and no {@link authentication} option (a `TypeError` otherwise).
   */
  challenge?: PolicyChallenge;
  /**
   * Audit sinks built in code (a sink that needs a client, such as `postgresSink({ pool })`),
   * added to the sinks of the file's `audit` section: appended after them, or used instead of
   * them with {@link replaceAuditSinks}. The file's other audit settings (spill directory,
   * arguments) still apply. Needs an `audit` section in the file (a `TypeError` otherwise).
   */
  auditSinks?: readonly AuditSink[];
  /** `true`: {@link auditSinks} replace the file's sinks instead of being appended. Default `false`. */
  replaceAuditSinks?: boolean;
  /** Redis store for the rate limits, shared by replicas (a client cannot live in a file). */
  redis?: RedisStoreOptions;
  /** Tracer and meter providers and other code-only telemetry options. */
  telemetry?: Omit<TelemetryOptions, 'recordResourceUri' | 'metricTargetLimit'>;
  /** Where the `stdout` audit sink writes; default `process.stdout` (`stream: stderr` in the file picks stderr). */
  auditStream?: { write(chunk: string, callback: (err?: Error | null) => void): boolean };
  /** Clock for auth and tests. */
  clock?: () => number;
}

/**
 * What {@link fromPolicy} returns: exactly what `harden(server, ...)` takes, plus the parts by
 * name for code that wants to reorder or extend the chain.
 */
export interface PolicyPipeline<A extends Middleware = Authenticator> {
  /** The chain, outermost first: audit, telemetry, auth, rbac, rate limit, sanitize, versioning. */
  use: Middleware[];
  /** Per-target options (rate limit, timeout, redaction, tags) for `harden(server, { policies })`. */
  policies: PolicyMap;
  /** The same middleware by concern; absent when the file does not configure it. */
  parts: {
    /** `audit()` of `@mcp-harden/audit` (its `flush`/`close`/`stats`), when the file has an `audit` section. */
    audit?: AuditMiddleware;
    telemetry?: Middleware;
    /**
     * Built from the file: an `Authenticator` of `@mcp-harden/auth`, usable at the HTTP edge as
     * `serve({ authenticate: (req) => auth.authenticateRequest(req) })`. One method (bearer or API
     * keys) gives that method's verifier; several methods, or `allowAnonymous`, give `anyOf(...)`,
     * also an `Authenticator`, whose 401 challenge lists every method's challenge. With the
     * `authentication` option: that middleware, typed as given.
     */
    authentication?: A;
    authorization: Middleware;
    rateLimit?: Middleware;
    sanitize?: Middleware;
    versioning?: Middleware;
  };
  /** Circuit-breaker settings for downstream calls, for the code that makes them. */
  circuitBreakers: NonNullable<EffectivePolicy['circuitBreakers']>;
  /** `timeouts` of the file: the options of `timeout()` from `@mcp-harden/http`, when set. */
  timeouts?: { defaultMs: number; maxMs?: number };
}

const KINDS = ['tools', 'resources', 'prompts'] as const;

/** Path of the first `${env:...}` / `${file:...}` string left in `value`, if any. */
function findReference(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return SECRET_REFERENCE.test(value) ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = findReference(v, path ? `${path}.${k}` : k);
    if (found !== undefined) return found;
  }
  return undefined;
}

function targetPolicy(target: PolicyTarget): TargetPolicy {
  const policy: TargetPolicy & { timeoutMs?: number } = {};
  if (target.tags) policy.tags = [...target.tags];
  if (target.rateLimit) policy.rateLimit = { ...target.rateLimit };
  // Read by the timeout middleware of @mcp-harden/http.
  if (target.timeoutMs !== undefined) policy.timeoutMs = target.timeoutMs;
  if (target.redaction || target.strictArguments !== undefined) {
    policy.sanitize = {
      ...(target.strictArguments !== undefined ? { strict: target.strictArguments } : {}),
      ...(target.redaction?.rules
        ? { rules: target.redaction.rules as Partial<Record<BuiltinRuleName, boolean | 'mask'>> }
        : {}),
      ...(target.redaction?.injection ? { injection: target.redaction.injection } : {}),
    };
  }
  return policy;
}

/**
 * The rbac options a policy describes; {@link fromPolicy} and `explain` both use it.
 *
 * @example
 * ```ts
 * import { rbac } from '@mcp-harden/rbac';
 * const authorize = rbac(rbacOptionsOf(policy.effective));
 * ```
 */
export function rbacOptionsOf(policy: EffectivePolicy): RbacOptions {
  const rules = (kind: (typeof KINDS)[number]) => {
    const out: Record<string, RuleData> = {};
    for (const [name, target] of Object.entries(policy[kind] ?? {})) {
      if (target.rule !== undefined) out[name] = target.rule as RuleData;
    }
    return out;
  };
  const authz = policy.authorization ?? {};
  return {
    tools: rules('tools'),
    resources: rules('resources'),
    prompts: rules('prompts'),
    default: authz.default ?? 'deny',
    ...(authz.scopeHierarchy ? { scopeHierarchy: authz.scopeHierarchy } : {}),
    ...(authz.revealRequiredScopes !== undefined ? { revealRequiredScopes: authz.revealRequiredScopes } : {}),
  };
}

/**
 * The file's rules as declared per-target policies, for a server built without middleware whose
 * tool surface `mcp-harden lock` / `check` record: each tool with a rule is recorded as authorized.
 *
 * @example
 * ```ts
 * harden(server, { use: [], policies: rulesAsPolicies((await loadPolicy('policy.yaml')).effective) });
 * ```
 */
export function rulesAsPolicies(policy: EffectivePolicy): PolicyMap {
  const rules = rbacOptionsOf(policy);
  const declare = (byName: RbacOptions['tools']) =>
    Object.fromEntries(Object.entries(byName ?? {}).map(([name, rule]) => [name, { rule }]));
  return {
    tools: declare(rules.tools),
    prompts: declare(rules.prompts),
    resources: declare(rules.resources),
  };
}

/**
 * The `versioning()` tool options a policy describes: tools with a `version`, grouped by bare name
 * (`search.v1.0.0` is version 1.0.0 of `search`), with their deprecation. `undefined` when no tool
 * has a version.
 *
 * @example
 * ```ts
 * versioningToolsOf(policy.effective);
 * // { search: { versions: { '1.0.0': { deprecated: { sunset: '2027-06-30', replacement: 'search' } }, '2.0.0': {} } } }
 * ```
 */
export function versioningToolsOf(policy: EffectivePolicy): VersioningOptions['tools'] | undefined {
  const tools: VersioningOptions['tools'] = {};
  for (const [name, target] of Object.entries(policy.tools ?? {})) {
    if (target.version === undefined) continue;
    const bare = parseVersionedName(name)?.name ?? name;
    tools[bare] ??= { versions: {} };
    const entry = tools[bare];
    const d = target.deprecation;
    entry.versions[target.version] = d
      ? {
          deprecated: {
            ...(d.sunset ? { sunset: d.sunset } : {}),
            ...(d.replacement ? { replacement: d.replacement } : {}),
            ...(d.notice ? { notice: d.notice } : {}),
          },
        }
      : {};
  }
  return Object.keys(tools).length > 0 ? tools : undefined;
}

/** Misconfigured code options throw at construction, never silently do nothing. */
function checkOptions(p: EffectivePolicy, options: FromPolicyOptions<Middleware>): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('fromPolicy: options must be an object');
  }
  if (options.challenge !== undefined) {
    const c = options.challenge;
    if (typeof c !== 'object' || c === null) {
      throw new TypeError('fromPolicy: challenge must be { resourceMetadataUrl, scopes? }');
    }
    const url = c.resourceMetadataUrl;
    if (!(url instanceof URL) && !(typeof url === 'string' && URL.canParse(url))) {
      throw new TypeError('fromPolicy: challenge.resourceMetadataUrl must be an absolute URL');
    }
    if (c.scopes !== undefined && !Array.isArray(c.scopes)) {
      throw new TypeError('fromPolicy: challenge.scopes must be an array of scope names');
    }
    if (options.authentication !== undefined) {
      throw new TypeError(
        'fromPolicy: challenge applies to the verifier built from the file; set it on the authentication you pass instead',
      );
    }
    if (!p.authentication?.bearer) {
      throw new TypeError('fromPolicy: challenge needs an authentication.bearer section in the policy');
    }
  }
  if (options.auditSinks !== undefined) {
    if (!Array.isArray(options.auditSinks)) {
      throw new TypeError('fromPolicy: auditSinks must be an array of audit sinks');
    }
    if (!p.audit) {
      throw new TypeError(
        'fromPolicy: auditSinks needs an audit section in the policy (its spillDir is where undeliverable events wait)',
      );
    }
  }
  if (options.replaceAuditSinks !== undefined) {
    if (typeof options.replaceAuditSinks !== 'boolean') {
      throw new TypeError('fromPolicy: replaceAuditSinks must be a boolean');
    }
    if (options.replaceAuditSinks && (options.auditSinks?.length ?? 0) === 0) {
      throw new TypeError('fromPolicy: replaceAuditSinks needs at least one sink in auditSinks');
    }
  }
}

function authenticationOf(
  policy: EffectivePolicy,
  options: FromPolicyOptions<Middleware>,
): Middleware | undefined {
  if (options.authentication) return options.authentication;
  const section = policy.authentication;
  if (!section) return undefined;
  const challenge: ChallengeOptions | undefined = options.challenge
    ? {
        resourceMetadataUrl: options.challenge.resourceMetadataUrl,
        ...(options.challenge.scopes ? { scopes: options.challenge.scopes } : {}),
      }
    : undefined;
  const methods: Authenticator[] = [];
  const clock = options.clock ? { clock: options.clock } : {};
  if (section.bearer) {
    const b = section.bearer;
    let keys: { keys: unknown[] } | undefined;
    if (b.keysFile) {
      try {
        keys = JSON.parse(readFileSync(b.keysFile, 'utf8')) as { keys: unknown[] };
      } catch (err) {
        throw new TypeError(
          `fromPolicy: authentication.bearer.keysFile cannot be read as a JWKS (${(err as Error).name})`,
        );
      }
    }
    methods.push(
      bearerAuth({
        issuer: b.issuer,
        audience: b.audience,
        algorithms: b.algorithms,
        ...(b.jwksUrl ? { jwksUri: b.jwksUrl } : {}),
        ...(keys ? { keys: keys as Parameters<typeof bearerAuth>[0]['keys'] } : {}),
        ...(b.claims ? { claims: b.claims } : {}),
        ...(b.requiredClaims ? { requiredClaims: b.requiredClaims } : {}),
        ...(b.clockTolerance !== undefined ? { clockTolerance: b.clockTolerance } : {}),
        ...(b.maxTokenAge !== undefined ? { maxTokenAge: b.maxTokenAge } : {}),
        ...(b.typ ? { typ: b.typ } : {}),
        ...(challenge ? { challenge } : {}),
        ...clock,
      }),
    );
  }
  if (section.apiKeys) {
    methods.push(
      apiKeys({
        keys: section.apiKeys.keys,
        ...(section.apiKeys.header ? { header: section.apiKeys.header } : {}),
        ...clock,
      }),
    );
  }
  if (methods.length === 0) return undefined;
  const allowAnonymous = section.allowAnonymous ?? false;
  return methods.length === 1 && !allowAnonymous ? methods[0] : anyOf(methods, { allowAnonymous });
}

/**
 * Builds the middleware chain and per-target policies a policy file describes, out of the same
 * factories the packages export (`audit`, `telemetry`, `bearerAuth`/`apiKeys`, `rbac`,
 * `rateLimit`, `sanitize`): a file and code are two ways to say one thing. The result goes
 * straight into `harden(server, ...)`.
 *
 * @example
 * ```ts
 * import { harden } from '@mcp-harden/sdk';
 * import { fromPolicy, loadPolicy } from '@mcp-harden/policy';
 * const hardened = harden(server, fromPolicy(await loadPolicy('./policy.yaml')));
 * ```
 */
export function fromPolicy<A extends Middleware = Authenticator>(
  policy: LoadedPolicy,
  options: FromPolicyOptions<A> = {},
): PolicyPipeline<A> {
  if (!policy || typeof policy !== 'object' || !policy.effective) {
    throw new TypeError('fromPolicy: pass the result of loadPolicy() or parsePolicy()');
  }
  const p = policy.effective;
  checkOptions(p, options);
  const unresolved = findReference(p, '');
  if (unresolved !== undefined) {
    throw new TypeError(
      `fromPolicy: ${unresolved || 'the policy'} is an unresolved secret reference; load the policy with references resolved`,
    );
  }
  const parts: PolicyPipeline<Middleware>['parts'] = { authorization: rbac(rbacOptionsOf(p)) };

  if (p.audit) {
    const fileSinks: AuditSink[] = options.replaceAuditSinks
      ? []
      : p.audit.sinks.map((s) =>
          s.type === 'stdout'
            ? stdoutSink({
                ...(s.name ? { name: s.name } : {}),
                ...(options.auditStream
                  ? { stream: options.auditStream }
                  : s.stream === 'stderr'
                    ? { stream: process.stderr }
                    : {}),
              })
            : fileSink({
                path: s.path,
                ...(s.name ? { name: s.name } : {}),
                ...(s.fsync !== undefined ? { fsync: s.fsync } : {}),
                ...(s.rotateMaxBytes ? { rotate: { maxBytes: s.rotateMaxBytes } } : {}),
              }),
        );
    const sinks = [...fileSinks, ...(options.auditSinks ?? [])];
    parts.audit = audit({
      sinks,
      spillDir: p.audit.spillDir,
      ...(p.audit.includeArguments !== undefined ? { includeArguments: p.audit.includeArguments } : {}),
      ...(p.audit.argumentsDigestKey ? { argumentsDigestKey: p.audit.argumentsDigestKey } : {}),
    });
  }
  if (p.telemetry?.enabled) {
    parts.telemetry = telemetry({
      ...options.telemetry,
      ...(p.telemetry.recordResourceUri !== undefined
        ? { recordResourceUri: p.telemetry.recordResourceUri }
        : {}),
      ...(p.telemetry.metricTargetLimit !== undefined
        ? { metricTargetLimit: p.telemetry.metricTargetLimit }
        : {}),
    });
  }
  const authentication = authenticationOf(p, options);
  if (authentication) parts.authentication = authentication;
  if (p.rateLimit) {
    const rl: RateLimitOptions = {
      ...(p.rateLimit.limits ? { limits: p.rateLimit.limits } : {}),
      ...(p.rateLimit.concurrency ? { concurrency: p.rateLimit.concurrency } : {}),
      ...(p.rateLimit.defaultCost !== undefined ? { defaultCost: p.rateLimit.defaultCost } : {}),
      ...(options.redis ? { redis: options.redis } : {}),
    };
    parts.rateLimit = rateLimit(rl);
  }
  const targetRedaction = KINDS.some((k) =>
    Object.values(p[k] ?? {}).some((t) => t.redaction || t.strictArguments !== undefined),
  );
  if (p.redaction || targetRedaction) {
    const r = p.redaction ?? {};
    const so: SanitizeOptions = {
      ...(r.rules ? { rules: r.rules as SanitizeOptions['rules'] } : {}),
      ...(r.strategy ? { strategy: r.strategy } : {}),
      ...(r.hashKey ? { hashKey: r.hashKey } : {}),
      ...(r.injection ? { injection: r.injection } : {}),
      ...(r.maxOutputBytes ? { maxOutputBytes: r.maxOutputBytes } : {}),
      ...(r.limits ? { limits: r.limits } : {}),
    };
    parts.sanitize = sanitize(so);
  }

  const versionedTools = versioningToolsOf(p);
  if (versionedTools) {
    parts.versioning = versioning({
      tools: versionedTools,
      ...(options.clock ? { now: options.clock } : {}),
    });
  }

  const policies: PolicyMap = {};
  for (const kind of KINDS) {
    const entries = Object.entries(p[kind] ?? {});
    if (entries.length > 0)
      policies[kind] = Object.fromEntries(entries.map(([n, t]) => [n, targetPolicy(t)]));
  }
  const use = [
    parts.audit,
    parts.telemetry,
    parts.authentication,
    parts.authorization,
    parts.rateLimit,
    parts.sanitize,
    parts.versioning,
  ].filter((m): m is Middleware => m !== undefined);
  return {
    use,
    policies,
    // authentication is options.authentication (an A) or one built from the file (an Authenticator, A's default)
    parts: parts as PolicyPipeline<A>['parts'],
    circuitBreakers: p.circuitBreakers ?? {},
    ...(p.timeouts ? { timeouts: { ...p.timeouts } } : {}),
  };
}
