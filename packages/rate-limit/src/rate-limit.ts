import {
  defineMiddleware,
  type HardenContext,
  HardenError,
  type HealthCheck,
  type McpResult,
  type Middleware,
  type Next,
} from '@mcp-harden/core';
import { ConcurrencyGate, type Slot } from './concurrency.js';
import { encodeKey, KeyCache } from './keys.js';
import {
  checkOptions,
  DEFAULT_LIMITED_METHODS,
  type Limit,
  RATE_LIMIT_LEVELS,
  type RateLimitLevel,
  type RateLimitOptions,
  type RefusalEvent,
  type TargetRateLimit,
  targetPolicyProblem,
} from './options.js';
import { type Consumed, LevelStore, type StoreCounters } from './store.js';

/**
 * What rate limiting decided for the current request, on `ctx.state.rateLimit`.
 *
 * @example
 * ```ts
 * const decision: RateLimitState | undefined = ctx.state.rateLimit;
 * if (decision?.refused) console.log(decision.level, decision.retryAfterMs);
 * ```
 */
export interface RateLimitState {
  /** The level that refused, or the level with the fewest points left (`none` when no budget applied). */
  level: string;
  refused: boolean;
  /** Points left at `level` after this call, when a budget applied. */
  remainingPoints?: number;
  /** On refusal: how long to wait before retrying. */
  retryAfterMs?: number;
  /** True when the decision did not come from the configured store (insurance or fail-open). */
  degraded?: boolean;
}

declare module '@mcp-harden/core' {
  interface HardenState {
    /** Set by `@mcp-harden/rate-limit` on every limited request. */
    rateLimit?: RateLimitState;
  }
  interface TargetPolicy {
    /** Cost, budget and concurrency cap of this target (`@mcp-harden/rate-limit`). */
    rateLimit?: TargetRateLimit;
  }
}

/**
 * Counters for telemetry; see {@link RateLimitMiddleware.stats}.
 *
 * @example
 * ```ts
 * const { refusals, storeErrors }: RateLimitStats = limiter.stats();
 * ```
 */
export interface RateLimitStats {
  /** Refusals by level: `session`, `principalTool`, `principal`, `tenant`, `global`, `concurrency:<level>`, `store`. */
  refusals: Record<string, number>;
  /** Calls allowed. */
  allowed: number;
  /** Store calls that failed (Redis down or slow). */
  storeErrors: number;
  /** Level checks decided by the insurance limiter while the store failed. */
  insuranceDecisions: number;
  /** Level checks let through unmetered by `fail-open`. */
  failOpen: number;
  /** Level checks refused because the store failed (`fail-closed`). */
  failClosed: number;
  /** Limited calls in flight in this process (what the concurrency caps count). */
  inFlight: number;
}

/**
 * The middleware returned by {@link rateLimit}, with counters for telemetry.
 *
 * @example
 * ```ts
 * const limiter: RateLimitMiddleware = rateLimit({ limits: { global: { points: 100, duration: 1 } } });
 * setInterval(() => console.log(limiter.stats().refusals), 60_000).unref();
 * ```
 */
export interface RateLimitMiddleware extends Middleware {
  /** A snapshot of the counters since construction. */
  stats(): RateLimitStats;
}

interface Check {
  level: RateLimitLevel;
  store: LevelStore;
  key: string;
}

const retryAfterSeconds = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)));

/**
 * Rate limits and concurrency caps for MCP requests. Budgets (points per duration) apply per
 * session, principal+target, principal, tenant and globally; a call costs 1 point unless a cost
 * is set for its target (`costs`, or `withPolicy({ rateLimit: { cost } })`). Concurrency caps
 * bound calls in flight per principal, per target and globally. Budgets live in memory, or in
 * Redis when a client is passed so that replicas share them.
 *
 * Refusals throw `ERR_RATE_LIMITED` with `data: { level, retryAfterMs }` and a `Retry-After`
 * header; a failing Redis store never surfaces as an internal error (see `onStoreError`).
 *
 * @example
 * ```ts
 * import { rateLimit } from '@mcp-harden/rate-limit';
 * const limiter = rateLimit({
 *   limits: { principal: { points: 60, duration: 60 }, global: { points: 1000, duration: 1 } },
 *   concurrency: { principal: 4 },
 *   costs: { 'run-report': 10 },
 * });
 * harden(server, { use: [auth, limiter] });
 * limiter.stats().refusals; // { principal: 3, 'concurrency:principal': 1 }
 * ```
 */
export function rateLimit(options: RateLimitOptions): RateLimitMiddleware {
  checkOptions(options);
  const limits = { ...options.limits };
  const capOf = { ...options.concurrency };
  const costs = new Map(Object.entries(options.costs ?? {}));
  const defaultCost = options.defaultCost ?? 1;
  const methods = new Set<string>(options.methods ?? DEFAULT_LIMITED_METHODS);
  const concurrencyRetryAfterMs = options.concurrencyRetryAfterMs ?? 1000;
  const counters: StoreCounters = { storeErrors: 0, insuranceDecisions: 0, failOpen: 0, failClosed: 0 };
  const settings = {
    keyPrefix: options.keyPrefix ?? 'mcp-harden:rl',
    redis: options.redis,
    mode: options.onStoreError ?? 'insurance',
    counters,
    onStoreFailure: options.onStoreFailure,
  };
  const refusals: Record<string, number> = {};
  let allowed = 0;
  let closed = false;
  const gate = new ConcurrencyGate();
  /** Limited calls in flight that hold no concurrency slot (counted in `stats().inFlight`). */
  let uncappedInFlight = 0;
  const hasCaps = capOf.global !== undefined || capOf.principal !== undefined || capOf.tool !== undefined;
  const keys = new KeyCache();
  const globalKey = encodeKey([]);
  /** Memory store: every decision is synchronous (no promise per level). */
  const sync = !options.redis;

  const stores = new Map<RateLimitLevel, LevelStore>();
  for (const level of RATE_LIMIT_LEVELS) {
    const limit = limits[level];
    if (limit) stores.set(level, new LevelStore(level, limit, settings));
  }
  // Per-target budgets declared by policy, one store per distinct limit, created on first use.
  const targetStores = new Map<string, LevelStore>();
  const targetStore = (limit: Limit): LevelStore => {
    const id = `${limit.points}/${limit.duration}`;
    let store = targetStores.get(id);
    if (!store) {
      store = new LevelStore('principalTool', limit, settings);
      targetStores.set(id, store);
    }
    return store;
  };

  const refuse = (
    ctx: HardenContext,
    level: string,
    retryAfterMs: number,
    remainingPoints?: number,
    degraded = false,
  ): never => {
    refusals[level] = (refusals[level] ?? 0) + 1;
    ctx.state.rateLimit = {
      level,
      refused: true,
      retryAfterMs,
      ...(remainingPoints === undefined ? {} : { remainingPoints }),
      ...(degraded ? { degraded: true } : {}),
    };
    if (options.onRefusal) {
      const event: RefusalEvent = {
        level,
        retryAfterMs,
        method: ctx.method,
        target: ctx.target,
        subject: ctx.principal?.subject,
      };
      try {
        options.onRefusal(event);
      } catch {
        // Metrics must never change the decision.
      }
    }
    throw new HardenError('ERR_RATE_LIMITED', 'Rate limit exceeded', {
      data: { level, retryAfterMs },
      httpHeaders: { 'Retry-After': retryAfterSeconds(retryAfterMs) },
    });
  };

  const sessionStore = stores.get('session');
  const principalToolStore = stores.get('principalTool');
  const principalStore = stores.get('principal');
  const tenantStore = stores.get('tenant');
  const globalStore = stores.get('global');

  /** The budgets that apply to the call, in {@link RATE_LIMIT_LEVELS} order (most specific first). */
  const checksFor = (ctx: HardenContext, policy: TargetRateLimit | undefined): Check[] => {
    const checks: Check[] = [];
    if (sessionStore && ctx.sessionId !== undefined) {
      checks.push({ level: 'session', store: sessionStore, key: encodeKey([ctx.sessionId]) });
    }
    const toolStore = policy?.limit ? targetStore(policy.limit) : principalToolStore;
    const toolApplies = toolStore !== undefined && ctx.target !== undefined;
    // Both principal levels share one cache lookup; none when neither applies.
    const who = toolApplies || principalStore ? keys.entryFor(ctx.principal) : undefined;
    if (toolApplies) {
      checks.push({
        level: 'principalTool',
        store: toolStore,
        key: keys.targetKeyIn(who!, ctx.principal, ctx.targetKind ?? null, ctx.target!),
      });
    }
    if (principalStore) {
      checks.push({ level: 'principal', store: principalStore, key: who!.key });
    }
    if (tenantStore && ctx.principal?.tenant !== undefined) {
      checks.push({ level: 'tenant', store: tenantStore, key: encodeKey([ctx.principal.tenant]) });
    }
    if (globalStore) checks.push({ level: 'global', store: globalStore, key: globalKey });
    return checks;
  };

  const slotsFor = (ctx: HardenContext, policy: TargetRateLimit | undefined): Slot[] => {
    const slots: Slot[] = [];
    if (capOf.global !== undefined)
      slots.push({ label: 'concurrency:global', key: 'global', cap: capOf.global });
    if (capOf.principal !== undefined) {
      slots.push({
        label: 'concurrency:principal',
        key: keys.entryFor(ctx.principal).slotKey,
        cap: capOf.principal,
      });
    }
    const toolCap = policy?.concurrency ?? capOf.tool;
    if (toolCap !== undefined && ctx.target !== undefined) {
      slots.push({
        label: 'concurrency:tool',
        key: keys.toolSlotKey(ctx.targetKind ?? null, ctx.target),
        cap: toolCap,
      });
    }
    return slots;
  };

  /** True when a refusal or an unavailable store means the allowed levels get their points back. */
  const needsRefund = (results: readonly Consumed[]): boolean => {
    for (const r of results) if (r.kind === 'refused' || r.kind === 'unavailable') return true;
    return false;
  };

  /** Decides from every level's outcome (refunds already made): refuses, or records the state. */
  const conclude = (ctx: HardenContext, checks: readonly Check[], results: readonly Consumed[]): void => {
    let degraded = false;
    let unavailable = false;
    let refusedAt: { level: RateLimitLevel; msBeforeNext: number; remainingPoints: number } | undefined;
    let tightest: { level: string; remainingPoints: number } | undefined;
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      if (r.kind === 'open') degraded = true;
      else if (r.kind === 'unavailable') unavailable = true;
      else {
        if (r.backend === 'insurance') degraded = true;
        if (r.kind === 'refused') {
          if (!refusedAt || r.msBeforeNext > refusedAt.msBeforeNext) {
            refusedAt = {
              level: checks[i]!.level,
              msBeforeNext: r.msBeforeNext,
              remainingPoints: r.remainingPoints,
            };
          }
        } else if (!tightest || r.remainingPoints < tightest.remainingPoints) {
          tightest = { level: checks[i]!.level, remainingPoints: r.remainingPoints };
        }
      }
    }
    if (refusedAt) {
      const wait = Math.max(1, Math.ceil(refusedAt.msBeforeNext));
      refuse(ctx, refusedAt.level, wait, refusedAt.remainingPoints, degraded);
    }
    if (unavailable) {
      refusals.store = (refusals.store ?? 0) + 1;
      ctx.state.rateLimit = { level: 'store', refused: true, degraded: true };
      throw new HardenError('ERR_UNAVAILABLE', 'Rate limiting is unavailable; try again later', {
        data: { level: 'store', retryAfterMs: concurrencyRetryAfterMs },
        httpHeaders: { 'Retry-After': retryAfterSeconds(concurrencyRetryAfterMs) },
      });
    }
    const state: RateLimitState = { level: tightest?.level ?? 'none', refused: false };
    if (tightest) state.remainingPoints = tightest.remainingPoints;
    if (degraded) state.degraded = true;
    ctx.state.rateLimit = state;
  };

  /**
   * Memory store: consumes at every level synchronously, at one instant, without a promise or a
   * result object per level. Decides as {@link conclude} does for the memory store (never
   * degraded, never unavailable).
   */
  const consumeAllNow = (ctx: HardenContext, checks: readonly Check[], cost: number): void => {
    if (checks.length === 0 || cost === 0) {
      ctx.state.rateLimit = { level: 'none', refused: false };
      return;
    }
    const now = checks[0]!.store.memory!.now();
    let refusedMask = 0;
    let tightest = -1;
    let tightestLeft = 0;
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]!;
      const left = check.store.memory!.take(check.key, cost, now);
      if (left < 0) refusedMask |= 1 << i;
      else if (tightest < 0 || left < tightestLeft) {
        tightest = i;
        tightestLeft = left;
      }
    }
    if (refusedMask !== 0) refuseNow(ctx, checks, cost, now, refusedMask);
    ctx.state.rateLimit = { level: checks[tightest]!.level, refused: false, remainingPoints: tightestLeft };
  };

  /** {@link consumeAllNow} when some level refused: refunds the others, refuses with the longest wait. */
  const refuseNow = (
    ctx: HardenContext,
    checks: readonly Check[],
    cost: number,
    now: number,
    refusedMask: number,
  ): never => {
    let at = -1;
    let atMs = 0;
    for (let i = 0; i < checks.length; i++) {
      if ((refusedMask & (1 << i)) === 0) continue;
      const ms = checks[i]!.store.memory!.msBeforeNext(checks[i]!.key, now);
      if (at < 0 || ms > atMs) {
        at = i;
        atMs = ms;
      }
    }
    // A call refused at one level does not spend the budgets of the others.
    for (let i = 0; i < checks.length; i++) {
      if ((refusedMask & (1 << i)) === 0) checks[i]!.store.memory!.reward(checks[i]!.key, cost, now);
    }
    return refuse(ctx, checks[at]!.level, Math.max(1, Math.ceil(atMs)), 0);
  };

  /** Redis store: consumes at every level in parallel, then {@link conclude}. */
  const consumeAll = async (ctx: HardenContext, checks: readonly Check[], cost: number): Promise<void> => {
    if (checks.length === 0 || cost === 0) {
      ctx.state.rateLimit = { level: 'none', refused: false };
      return;
    }
    const results: Consumed[] = await Promise.all(checks.map((c) => c.store.consume(c.key, cost)));
    if (needsRefund(results)) {
      // A call refused at one level does not spend the budgets of the others.
      await Promise.all(
        results.map((r, i) =>
          r.kind === 'allowed' ? checks[i]!.store.refund(checks[i]!.key, cost, r.backend) : undefined,
        ),
      );
    }
    conclude(ctx, checks, results);
  };

  const leave = (result: McpResult): McpResult => {
    uncappedInFlight--;
    return result;
  };
  const leaveOnError = (error: unknown): never => {
    uncappedInFlight--;
    throw error;
  };

  /** A limited call that takes concurrency slots, or whose store answers asynchronously (Redis). */
  const limitedCall = async (
    ctx: HardenContext,
    next: Next,
    policy: TargetRateLimit | undefined,
    cost: number,
  ): Promise<McpResult> => {
    if (!hasCaps && policy?.concurrency === undefined) {
      // No concurrency cap applies: no slot, no gate, no abort listener; only the count.
      uncappedInFlight++;
      try {
        await consumeAll(ctx, checksFor(ctx, policy), cost);
        if (ctx.aborted) throw new HardenError('ERR_CANCELLED');
        allowed++;
        return await next();
      } finally {
        uncappedInFlight--;
      }
    }

    const slots = slotsFor(ctx, policy);
    const taken = gate.acquire(slots);
    if ('full' in taken) return refuse(ctx, taken.full.label, concurrencyRetryAfterMs);
    const release = taken.release;
    // Free the slot as soon as the call is cancelled or times out, even if the handler lingers.
    // Without a concurrency cap there is no slot to free early, so no listener (it costs more
    // than the rest of the gate).
    const holdsSlot = slots.length > 0;
    if (holdsSlot) ctx.signal.addEventListener('abort', release, { once: true });
    try {
      if (sync) consumeAllNow(ctx, checksFor(ctx, policy), cost);
      else await consumeAll(ctx, checksFor(ctx, policy), cost);
      if (ctx.aborted) throw new HardenError('ERR_CANCELLED');
      allowed++;
      return await next();
    } finally {
      if (holdsSlot) ctx.signal.removeEventListener('abort', release);
      release();
    }
  };

  const middleware = defineMiddleware(
    'rate-limit',
    // Not an async function: on the memory store without a concurrency cap the only promise it
    // adds is the one that counts the call out of `inFlight`. Every error still rejects.
    function rateLimitMiddleware(ctx: HardenContext, next: Next): Promise<McpResult> {
      try {
        if (!methods.has(ctx.method)) return Promise.resolve(next());
        if (closed) throw new HardenError('ERR_UNAVAILABLE', 'The server is shutting down');
        if (ctx.aborted) throw new HardenError('ERR_CANCELLED');
        const policy = ctx.policy?.rateLimit;
        if (policy !== undefined && targetPolicyProblem(policy) !== undefined) {
          // A broken policy is a server bug: refuse (fail closed) without detail for the client.
          throw new HardenError('ERR_MIDDLEWARE', 'Invalid rate-limit policy for this target');
        }
        const cost =
          policy?.cost ?? (ctx.target === undefined ? undefined : costs.get(ctx.target)) ?? defaultCost;
        if (!sync || hasCaps || policy?.concurrency !== undefined)
          return limitedCall(ctx, next, policy, cost);

        // Memory store, no concurrency cap: decided synchronously, before next() runs.
        uncappedInFlight++;
        let pending: Promise<McpResult>;
        try {
          consumeAllNow(ctx, checksFor(ctx, policy), cost);
          if (ctx.aborted) throw new HardenError('ERR_CANCELLED');
          allowed++;
          pending = Promise.resolve(next());
        } catch (err) {
          uncappedInFlight--;
          throw err;
        }
        return pending.then(leave, leaveOnError);
      } catch (err) {
        return Promise.reject(err);
      }
    },
    {
      async close() {
        closed = true;
      },
      healthChecks: options.redis ? [redisHealthCheck(options.redis.client)] : [],
    },
  );
  return Object.assign(middleware, {
    stats(): RateLimitStats {
      return { refusals: { ...refusals }, allowed, ...counters, inFlight: gate.inFlight + uncappedInFlight };
    },
  });
}

function redisHealthCheck(client: { ping(): Promise<unknown> }): HealthCheck {
  return {
    name: 'rate-limit:redis',
    check(signal: AbortSignal): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        if (signal.aborted) {
          reject(new Error('rate-limit store health check aborted'));
          return;
        }
        const onAbort = () => reject(new Error('rate-limit store did not answer PING in time'));
        signal.addEventListener('abort', onAbort, { once: true });
        client.ping().then(
          () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          () => {
            signal.removeEventListener('abort', onAbort);
            reject(new Error('rate-limit store did not answer PING'));
          },
        );
      });
    },
  };
}
