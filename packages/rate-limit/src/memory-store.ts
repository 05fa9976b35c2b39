import type { Limit } from './options.js';

/** One key's window: points consumed so far and when the window ends (epoch ms). */
interface WindowRecord {
  value: number;
  expiresAt: number;
}

/** What {@link FixedWindowMemory.consume} decided (the memory case of the store's `Consumed`). */
export interface WindowDecision {
  /** `refused` when the points consumed in the window now exceed the budget. */
  kind: 'allowed' | 'refused';
  /** Points left in the window, never below 0. */
  remainingPoints: number;
  /** Milliseconds until the window of this key ends. */
  msBeforeNext: number;
  backend: 'memory';
}

/** Expired records removed at most per new window, so eviction stays O(1) per call. */
const SWEEP_PER_INSERT = 4;

/**
 * A synchronous fixed-window counter per key, with exactly the semantics `RateLimiterMemory`
 * (rate-limiter-flexible) has with `blockDuration: 0` and `execEvenly: false`:
 * - a key's window starts at its first consume (or reward) and lasts `duration` seconds;
 * - a consume adds its points even when it is refused (so refused calls keep counting);
 * - refused when the points consumed in the window exceed `points`;
 * - `remainingPoints = max(points - consumed, 0)`; `msBeforeNext` is what is left of the window
 *   (the whole window for a key whose window starts with this call);
 * - a reward subtracts points in the current window, or starts a window with negative points when
 *   the key has none (as `RateLimiterMemory.reward` does).
 *
 * No promise and no timer per key: records live in a `Map` in window-start order (every record
 * of one store has the same duration, so that is also expiry order), and each new window evicts
 * up to {@link SWEEP_PER_INSERT} expired records from the oldest end. Memory therefore stays
 * bounded by the keys active within one window (plus a backlog that shrinks with every new key).
 */
export class FixedWindowMemory {
  readonly #records = new Map<string, WindowRecord>();
  readonly #points: number;
  readonly #durationMs: number;
  readonly #now: () => number;

  /** `now` is a seam for tests (epoch milliseconds); `Date.now` by default. */
  constructor(limit: Limit, now: () => number = Date.now) {
    this.#points = limit.points;
    this.#durationMs = limit.duration * 1000;
    this.#now = now;
  }

  /** Records held (live and not yet evicted). */
  get size(): number {
    return this.#records.size;
  }

  /** The store's clock (epoch ms), to run several operations at one instant. */
  now(): number {
    return this.#now();
  }

  /** Adds `points` to `key`'s window and says whether the budget still holds. */
  consume(key: string, points: number, now: number = this.#now()): WindowDecision {
    const left = this.take(key, points, now);
    return {
      kind: left >= 0 ? 'allowed' : 'refused',
      remainingPoints: Math.max(left, 0),
      msBeforeNext: this.msBeforeNext(key, now),
      backend: 'memory',
    };
  }

  /**
   * {@link consume} without the decision object: adds `points` to `key`'s window and returns
   * `points - consumed` of the budget, negative when the call is refused.
   */
  take(key: string, points: number, now: number): number {
    const record = this.#records.get(key);
    if (record !== undefined && record.expiresAt - now > 0) {
      record.value += points;
      return this.#points - record.value;
    }
    this.#start(key, points, now, record !== undefined);
    return this.#points - points;
  }

  /** What is left of `key`'s window at `now` (right after {@link take}: the window it counted in). */
  msBeforeNext(key: string, now: number): number {
    const record = this.#records.get(key);
    return record === undefined ? this.#durationMs : record.expiresAt - now;
  }

  /** Gives back `points` to `key` (a refund for a call another level refused). */
  reward(key: string, points: number, now: number = this.#now()): void {
    const record = this.#records.get(key);
    if (record !== undefined && record.expiresAt - now > 0) record.value -= points;
    else this.#start(key, -points, now, record !== undefined);
  }

  /** Starts a new window for `key` at the young end of the map, then evicts a few expired ones. */
  #start(key: string, value: number, now: number, replacing: boolean): void {
    if (replacing) this.#records.delete(key);
    this.#records.set(key, { value, expiresAt: now + this.#durationMs });
    let swept = 0;
    for (const [oldKey, old] of this.#records) {
      if (old.expiresAt - now > 0 || swept === SWEEP_PER_INSERT) break;
      this.#records.delete(oldKey);
      swept++;
    }
  }
}
