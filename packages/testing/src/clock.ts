/** A clock that only moves when told to; see {@link createFakeClock}. */
export interface FakeClock {
  /** Current time in epoch milliseconds. Pass `clock.now` wherever a `now: () => number` is taken. */
  readonly now: () => number;
  /** Moves the clock forward by `ms` milliseconds (negative values are refused). */
  advance(ms: number): void;
  /** Sets the clock to an absolute epoch-millisecond time. */
  set(epochMs: number): void;
}

/**
 * A manual clock for expiry and cache tests without sleeping.
 *
 * @example
 * ```ts
 * import { createFakeClock } from '@mcp-harden/testing';
 * const clock = createFakeClock();
 * const auth = bearerAuth({ ...options, clock: clock.now });
 * clock.advance(10 * 60_000); // ten minutes later, instantly
 * ```
 */
export function createFakeClock(startMs: number = Date.now()): FakeClock {
  if (!Number.isFinite(startMs)) throw new TypeError('createFakeClock: startMs must be a finite number');
  let current = startMs;
  return {
    now: () => current,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0)
        throw new TypeError('FakeClock.advance: ms must be a non-negative number');
      current += ms;
    },
    set(epochMs) {
      if (!Number.isFinite(epochMs)) throw new TypeError('FakeClock.set: epochMs must be a finite number');
      current = epochMs;
    },
  };
}
