import { HARDENED_METHODS, type HardenedMethod } from '@mcp-harden/core';

/**
 * The levels a points budget can apply at: `session` (transport session id), `principalTool`
 * (principal + tool, prompt or resource), `principal`, `tenant` and `global`.
 *
 * @example
 * ```ts
 * const level: RateLimitLevel = 'principalTool';
 * ```
 */
export type RateLimitLevel = 'global' | 'tenant' | 'principal' | 'principalTool' | 'session';

/**
 * Every {@link RateLimitLevel}, most specific first.
 *
 * @example
 * ```ts
 * RATE_LIMIT_LEVELS; // ['session', 'principalTool', 'principal', 'tenant', 'global']
 * ```
 */
export const RATE_LIMIT_LEVELS: readonly RateLimitLevel[] = [
  'session',
  'principalTool',
  'principal',
  'tenant',
  'global',
];

/**
 * The levels a concurrency cap can apply at; `tool` means the target (tool, prompt or resource).
 *
 * @example
 * ```ts
 * const caps: Partial<Record<ConcurrencyLevel, number>> = { principal: 4, tool: 2 };
 * ```
 */
export type ConcurrencyLevel = 'global' | 'principal' | 'tool';

/**
 * A fixed-window budget: at most `points` points per `duration` seconds. A call costs 1 point
 * unless a cost is set for its target.
 *
 * @example
 * ```ts
 * const twentyPerMinute: Limit = { points: 20, duration: 60 };
 * ```
 */
export interface Limit {
  /** Points available per window; a positive integer. */
  points: number;
  /** Window length in whole seconds (at least 1). */
  duration: number;
}

/**
 * Per-target rate-limit options declared at registration (`withPolicy({ rateLimit })`).
 *
 * @example
 * ```ts
 * hardened
 *   .withPolicy({ rateLimit: { cost: 10, limit: { points: 30, duration: 60 }, concurrency: 2 } })
 *   .registerTool('run-report', { description: 'Expensive query' }, handler);
 * ```
 */
export interface TargetRateLimit {
  /** Points one call consumes (a non-negative integer; 0 makes the call free). Overrides `costs`. */
  cost?: number;
  /** The `principalTool` budget of this target; overrides `limits.principalTool`. */
  limit?: Limit;
  /** At most this many calls of this target in flight at once; overrides `concurrency.tool`. */
  concurrency?: number;
}

/**
 * A Redis client passed in by the application: `ioredis` (5.x) or `redis` (node-redis 4+).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const client: RedisClientLike = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false });
 * ```
 */
export interface RedisClientLike {
  ping(): Promise<unknown>;
}

/**
 * Redis store options: budgets shared by every replica that uses the same Redis and `keyPrefix`.
 *
 * @example
 * ```ts
 * const redis: RedisStoreOptions = { client: new Redis(url, { enableOfflineQueue: false }), replicas: 3 };
 * ```
 */
export interface RedisStoreOptions {
  /** A connected client; mcp-harden never closes it (the application owns it). */
  client: RedisClientLike;
  /** Which client library; detected when omitted (`defineCommand` means ioredis). */
  package?: 'ioredis' | 'node-redis';
  /** A store call slower than this counts as a store failure; default 1000 ms. */
  timeoutMs?: number;
  /**
   * How many processes share the store. While Redis fails, each process's insurance limiter
   * allows `points / replicas` (at least 1) so the fleet stays near the shared limit; default 1.
   */
  replicas?: number;
}

/**
 * What happens when the Redis store fails (connection lost, timeout):
 * - `insurance` (default): an in-memory limiter with the same limits decides, per process;
 * - `fail-closed`: the call is refused with `ERR_UNAVAILABLE`;
 * - `fail-open`: the call passes unlimited (concurrency caps still apply).
 *
 * @example
 * ```ts
 * rateLimit({ limits, redis: { client }, onStoreError: 'fail-closed' });
 * ```
 */
export type StoreErrorMode = 'insurance' | 'fail-open' | 'fail-closed';

/**
 * What {@link RateLimitOptions.onRefusal} receives; never carries arguments or credentials.
 *
 * @example
 * ```ts
 * rateLimit({ limits, onRefusal: (e: RefusalEvent) => refusedCounter.add(1, { level: e.level }) });
 * ```
 */
export interface RefusalEvent {
  /** The level that refused: a {@link RateLimitLevel}, `concurrency:<level>` or `store`. */
  level: string;
  /** Suggested wait before retrying, in milliseconds. */
  retryAfterMs: number;
  method: HardenedMethod;
  target: string | undefined;
  /** The principal's subject, when authenticated. */
  subject: string | undefined;
}

/**
 * Options of `rateLimit()`.
 *
 * @example
 * ```ts
 * const options: RateLimitOptions = {
 *   limits: { principal: { points: 60, duration: 60 }, tenant: { points: 600, duration: 60 } },
 *   concurrency: { principal: 4 },
 *   costs: { 'run-report': 10 },
 * };
 * ```
 */
export interface RateLimitOptions {
  /** Points budgets by level. At least one limit or one concurrency cap is required. */
  limits?: Partial<Record<RateLimitLevel, Limit>>;
  /** Caps on calls in flight at once, per process. */
  concurrency?: Partial<Record<ConcurrencyLevel, number>>;
  /** Points per call by target (tool or prompt name, resource URI); default `defaultCost`. */
  costs?: Readonly<Record<string, number>>;
  /** Points a call costs when no cost is set for its target; default 1. */
  defaultCost?: number;
  /** Methods that are limited; default `tools/call`, `prompts/get`, `resources/read`. */
  methods?: readonly HardenedMethod[];
  /** Shared store for several replicas; memory (per process) when omitted. */
  redis?: RedisStoreOptions;
  /** Prefix of every store key; default `mcp-harden:rl`. */
  keyPrefix?: string;
  /** Behaviour when the Redis store fails; default `insurance`. */
  onStoreError?: StoreErrorMode;
  /** `retryAfterMs` suggested on a concurrency refusal; default 1000. */
  concurrencyRetryAfterMs?: number;
  /** Called on every refusal (for metrics); errors it throws are ignored. */
  onRefusal?: (event: RefusalEvent) => void;
  /** Called when the store fails (for logs); errors it throws are ignored. */
  onStoreFailure?: (error: unknown) => void;
}

/**
 * The methods limited when `methods` is not given: the calls that run user code.
 *
 * @example
 * ```ts
 * rateLimit({ limits, methods: [...DEFAULT_LIMITED_METHODS, 'tools/list'] });
 * ```
 */
export const DEFAULT_LIMITED_METHODS: readonly HardenedMethod[] = [
  'tools/call',
  'prompts/get',
  'resources/read',
];

const CONCURRENCY_LEVELS: readonly ConcurrencyLevel[] = ['global', 'principal', 'tool'];

const isPositiveInt = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

const isCost = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Checks a {@link Limit}; returns a message when it is invalid. */
export function limitProblem(limit: unknown): string | undefined {
  if (typeof limit !== 'object' || limit === null) return 'must be an object { points, duration }';
  const { points, duration } = limit as Partial<Limit>;
  if (!isPositiveInt(points)) return 'points must be a positive integer';
  if (!isPositiveInt(duration)) return 'duration must be a positive integer number of seconds';
  return undefined;
}

/** Checks a target's {@link TargetRateLimit}; returns a message when it is invalid. */
export function targetPolicyProblem(policy: unknown): string | undefined {
  if (typeof policy !== 'object' || policy === null) return 'rateLimit policy must be an object';
  const { cost, limit, concurrency } = policy as TargetRateLimit;
  if (cost !== undefined && !isCost(cost)) return 'rateLimit.cost must be a non-negative integer';
  if (limit !== undefined) {
    const problem = limitProblem(limit);
    if (problem) return `rateLimit.limit: ${problem}`;
  }
  if (concurrency !== undefined && !isPositiveInt(concurrency)) {
    return 'rateLimit.concurrency must be a positive integer';
  }
  return undefined;
}

/** Validates options at construction; misconfiguration throws `TypeError`. */
export function checkOptions(options: RateLimitOptions): void {
  const fail = (message: string): never => {
    throw new TypeError(`rateLimit: ${message}`);
  };
  if (typeof options !== 'object' || options === null) fail('options must be an object');
  const { limits = {}, concurrency = {} } = options;
  if (typeof limits !== 'object' || limits === null) fail('limits must be an object');
  if (typeof concurrency !== 'object' || concurrency === null) fail('concurrency must be an object');
  for (const [level, limit] of Object.entries(limits)) {
    if (!(RATE_LIMIT_LEVELS as readonly string[]).includes(level)) {
      fail(`unknown level "${level}" in limits (expected one of ${RATE_LIMIT_LEVELS.join(', ')})`);
    }
    if (limit === undefined) continue;
    const problem = limitProblem(limit);
    if (problem) fail(`limits.${level}: ${problem}`);
  }
  for (const [level, cap] of Object.entries(concurrency)) {
    if (!(CONCURRENCY_LEVELS as readonly string[]).includes(level)) {
      fail(`unknown level "${level}" in concurrency (expected one of ${CONCURRENCY_LEVELS.join(', ')})`);
    }
    if (cap !== undefined && !isPositiveInt(cap)) fail(`concurrency.${level} must be a positive integer`);
  }
  const hasLimit = Object.values(limits).some((l) => l !== undefined);
  const hasCap = Object.values(concurrency).some((c) => c !== undefined);
  if (!hasLimit && !hasCap) {
    fail('set at least one limit (limits.<level>) or concurrency cap (concurrency.<level>)');
  }
  if (options.costs !== undefined) {
    if (typeof options.costs !== 'object' || options.costs === null) fail('costs must be an object');
    for (const [target, cost] of Object.entries(options.costs)) {
      if (!isCost(cost)) fail(`costs["${target}"] must be a non-negative integer`);
    }
  }
  if (options.defaultCost !== undefined && !isCost(options.defaultCost)) {
    fail('defaultCost must be a non-negative integer');
  }
  if (options.methods !== undefined) {
    if (!Array.isArray(options.methods) || options.methods.length === 0)
      fail('methods must be a non-empty array');
    for (const method of options.methods) {
      if (!(HARDENED_METHODS as readonly string[]).includes(method))
        fail(`methods: unknown method "${method}"`);
    }
  }
  if (
    options.keyPrefix !== undefined &&
    (typeof options.keyPrefix !== 'string' || options.keyPrefix === '')
  ) {
    fail('keyPrefix must be a non-empty string');
  }
  if (
    options.onStoreError !== undefined &&
    !['insurance', 'fail-open', 'fail-closed'].includes(options.onStoreError)
  ) {
    fail('onStoreError must be "insurance", "fail-open" or "fail-closed"');
  }
  if (options.concurrencyRetryAfterMs !== undefined && !isPositiveInt(options.concurrencyRetryAfterMs)) {
    fail('concurrencyRetryAfterMs must be a positive integer');
  }
  for (const hook of ['onRefusal', 'onStoreFailure'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function')
      fail(`${hook} must be a function`);
  }
  if (options.redis !== undefined) {
    const { client, package: pkg, timeoutMs, replicas } = options.redis;
    if (typeof client !== 'object' || client === null || typeof client.ping !== 'function') {
      fail('redis.client must be an ioredis or node-redis client');
    }
    if (pkg !== undefined && pkg !== 'ioredis' && pkg !== 'node-redis') {
      fail('redis.package must be "ioredis" or "node-redis"');
    }
    if (timeoutMs !== undefined && !isPositiveInt(timeoutMs)) {
      fail('redis.timeoutMs must be a positive integer');
    }
    if (replicas !== undefined && !isPositiveInt(replicas)) fail('redis.replicas must be a positive integer');
  }
}
