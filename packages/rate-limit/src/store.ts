import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { FixedWindowMemory } from './memory-store.js';
import type { Limit, RedisStoreOptions, StoreErrorMode } from './options.js';

/** Where a decision came from. */
export type Backend = 'memory' | 'redis' | 'insurance';

/** The outcome of consuming points at one level. */
export type Consumed =
  | { kind: 'allowed'; remainingPoints: number; msBeforeNext: number; backend: Backend }
  | { kind: 'refused'; remainingPoints: number; msBeforeNext: number; backend: Backend }
  /** The store failed and `fail-open` let the call through unmetered. */
  | { kind: 'open' }
  /** The store failed and `fail-closed` (or a failing insurance limiter) refuses the call. */
  | { kind: 'unavailable' };

/** Store-level counters, read by `stats()`. */
export interface StoreCounters {
  storeErrors: number;
  insuranceDecisions: number;
  failOpen: number;
  failClosed: number;
}

/** True for the value rate-limiter-flexible rejects with when the budget is spent. */
function isLimiterRes(value: unknown): value is RateLimiterRes {
  if (value instanceof RateLimiterRes) return true;
  const candidate = value as { msBeforeNext?: unknown; remainingPoints?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    !(candidate instanceof Error) &&
    typeof candidate.msBeforeNext === 'number' &&
    typeof candidate.remainingPoints === 'number'
  );
}

class StoreTimeout extends Error {
  override readonly name = 'StoreTimeout';
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeout(`rate-limit store did not answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Shared settings of every {@link LevelStore}. */
export interface StoreSettings {
  keyPrefix: string;
  redis: RedisStoreOptions | undefined;
  mode: StoreErrorMode;
  counters: StoreCounters;
  onStoreFailure: ((error: unknown) => void) | undefined;
}

/**
 * One budget (points per duration) at one level, in memory or Redis, with the configured
 * behaviour when Redis fails. The memory store is a {@link FixedWindowMemory} (`memory`, which the
 * middleware uses synchronously, no promise); the Redis store is a `RateLimiterRedis`. The
 * insurance limiter is a `RateLimiterMemory` with the same limit; it is consulted only for calls
 * made while the store is failing.
 */
export class LevelStore {
  /** Set for the memory store: decisions can be made synchronously on it. */
  readonly memory: FixedWindowMemory | undefined;
  readonly #primary: RateLimiterRedis | undefined;
  readonly #insurance: RateLimiterMemory | undefined;
  readonly #settings: StoreSettings;
  readonly #backend: Backend;
  readonly #timeoutMs: number;

  constructor(level: string, limit: Limit, settings: StoreSettings) {
    this.#settings = settings;
    const base = {
      points: limit.points,
      duration: limit.duration,
      keyPrefix: `${settings.keyPrefix}:${level}`,
    };
    const redis = settings.redis;
    this.#timeoutMs = redis?.timeoutMs ?? 1000;
    if (redis) {
      const client = redis.client as RedisClientInternals;
      const isIoredis = redis.package
        ? redis.package === 'ioredis'
        : typeof client.defineCommand === 'function';
      this.memory = undefined;
      this.#primary = new RateLimiterRedis({
        ...base,
        storeClient: client,
        useRedisPackage: !isIoredis,
        // Do not queue behind a broken connection: fail fast and let onStoreError decide.
        rejectIfRedisNotReady: true,
      });
      this.#backend = 'redis';
      const share = Math.max(1, Math.floor(limit.points / (redis.replicas ?? 1)));
      this.#insurance =
        settings.mode === 'insurance' ? new RateLimiterMemory({ ...base, points: share }) : undefined;
    } else {
      this.memory = new FixedWindowMemory(limit);
      this.#primary = undefined;
      this.#backend = 'memory';
      this.#insurance = undefined;
    }
  }

  /** Consumes `points` for `key`; never rejects. */
  async consume(key: string, points: number): Promise<Consumed> {
    if (this.memory) return this.memory.consume(key, points);
    try {
      const res = await this.#call(this.#primary!.consume(key, points));
      return {
        kind: 'allowed',
        remainingPoints: res.remainingPoints,
        msBeforeNext: res.msBeforeNext,
        backend: this.#backend,
      };
    } catch (err) {
      if (isLimiterRes(err)) {
        return {
          kind: 'refused',
          remainingPoints: err.remainingPoints,
          msBeforeNext: err.msBeforeNext,
          backend: this.#backend,
        };
      }
      return this.#fallback(err, key, points);
    }
  }

  /** Gives back points consumed for a call that another level refused; best effort. */
  async refund(key: string, points: number, backend: Backend): Promise<void> {
    if (this.memory) {
      if (points !== 0) this.memory.reward(key, points);
      return;
    }
    const limiter = backend === 'insurance' ? this.#insurance : this.#primary;
    if (!limiter || points === 0) return;
    try {
      await this.#call(limiter.reward(key, points));
    } catch {
      // A lost refund only makes the limit stricter; nothing to report to the caller.
    }
  }

  #call<T>(promise: Promise<T>): Promise<T> {
    return this.#backend === 'redis' ? withTimeout(promise, this.#timeoutMs) : promise;
  }

  async #fallback(error: unknown, key: string, points: number): Promise<Consumed> {
    const { counters, mode, onStoreFailure } = this.#settings;
    counters.storeErrors++;
    if (onStoreFailure) {
      try {
        onStoreFailure(error);
      } catch {
        // A failing logger must not change the decision.
      }
    }
    if (mode === 'fail-open') {
      counters.failOpen++;
      return { kind: 'open' };
    }
    if (mode === 'insurance' && this.#insurance) {
      counters.insuranceDecisions++;
      try {
        const res = await this.#insurance.consume(key, points);
        return {
          kind: 'allowed',
          remainingPoints: res.remainingPoints,
          msBeforeNext: res.msBeforeNext,
          backend: 'insurance',
        };
      } catch (err) {
        if (isLimiterRes(err)) {
          return {
            kind: 'refused',
            remainingPoints: err.remainingPoints,
            msBeforeNext: err.msBeforeNext,
            backend: 'insurance',
          };
        }
      }
    }
    counters.failClosed++;
    return { kind: 'unavailable' };
  }
}

/** The parts of the two Redis clients this package touches. */
interface RedisClientInternals {
  defineCommand?: unknown;
  ping(): Promise<unknown>;
}
