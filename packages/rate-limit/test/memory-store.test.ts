import { seededRandom } from '@mcp-harden/test-services';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FixedWindowMemory } from '../src/memory-store.js';

/** A clock the test moves by hand (epoch ms). */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('FixedWindowMemory', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts a key window at its first consume and counts until the window ends', () => {
    const clock = manualClock();
    const store = new FixedWindowMemory({ points: 3, duration: 60 }, clock.now);
    expect(store.consume('k', 1)).toEqual({
      kind: 'allowed',
      remainingPoints: 2,
      msBeforeNext: 60_000,
      backend: 'memory',
    });
    clock.advance(15_000);
    expect(store.consume('k', 1)).toEqual({
      kind: 'allowed',
      remainingPoints: 1,
      msBeforeNext: 45_000,
      backend: 'memory',
    });
    clock.advance(44_999);
    expect(store.consume('k', 1)).toEqual({
      kind: 'allowed',
      remainingPoints: 0,
      msBeforeNext: 1,
      backend: 'memory',
    });
    // The window ends exactly `duration` after the first consume: a new one starts, full budget.
    clock.advance(1);
    expect(store.consume('k', 1)).toEqual({
      kind: 'allowed',
      remainingPoints: 2,
      msBeforeNext: 60_000,
      backend: 'memory',
    });
  });

  it('refuses past the budget with 0 remaining and what is left of the window, and keeps counting', () => {
    const clock = manualClock();
    const store = new FixedWindowMemory({ points: 2, duration: 10 }, clock.now);
    store.consume('k', 2);
    clock.advance(2_500);
    expect(store.consume('k', 1)).toEqual({
      kind: 'refused',
      remainingPoints: 0,
      msBeforeNext: 7_500,
      backend: 'memory',
    });
    // The refused point counted: giving one back still leaves the window full.
    store.reward('k', 1);
    expect(store.consume('k', 1)).toEqual({
      kind: 'refused',
      remainingPoints: 0,
      msBeforeNext: 7_500,
      backend: 'memory',
    });
    store.reward('k', 2);
    expect(store.consume('k', 1)).toEqual({
      kind: 'allowed',
      remainingPoints: 0,
      msBeforeNext: 7_500,
      backend: 'memory',
    });
    // Other keys have their own window.
    expect(store.consume('other', 1)).toEqual({
      kind: 'allowed',
      remainingPoints: 1,
      msBeforeNext: 10_000,
      backend: 'memory',
    });
  });

  it('refuses a first consume larger than the budget, for the whole window', () => {
    const clock = manualClock();
    const store = new FixedWindowMemory({ points: 5, duration: 1 }, clock.now);
    expect(store.consume('k', 6)).toEqual({
      kind: 'refused',
      remainingPoints: 0,
      msBeforeNext: 1_000,
      backend: 'memory',
    });
    expect(store.consume('k', 0)).toEqual({
      kind: 'refused',
      remainingPoints: 0,
      msBeforeNext: 1_000,
      backend: 'memory',
    });
  });

  it('a reward for a key without a window starts one below zero (as RateLimiterMemory.reward does)', () => {
    const clock = manualClock();
    const store = new FixedWindowMemory({ points: 2, duration: 60 }, clock.now);
    store.reward('k', 1);
    clock.advance(1_000);
    expect(store.consume('k', 3)).toEqual({
      kind: 'allowed',
      remainingPoints: 0,
      msBeforeNext: 59_000,
      backend: 'memory',
    });
    clock.advance(59_000);
    store.reward('k', 1);
    expect(store.size).toBe(1);
    expect(store.consume('k', 3)).toEqual({
      kind: 'allowed',
      remainingPoints: 0,
      msBeforeNext: 60_000,
      backend: 'memory',
    });
  });

  it('take() returns the points left (negative over budget) and msBeforeNext() the window it counted in', () => {
    const clock = manualClock();
    const store = new FixedWindowMemory({ points: 3, duration: 10 }, clock.now);
    const t0 = store.now();
    expect(t0).toBe(clock.now());
    expect(store.take('k', 2, t0)).toBe(1);
    expect(store.msBeforeNext('k', t0)).toBe(10_000);
    expect(store.take('k', 2, t0 + 4_000)).toBe(-1);
    expect(store.msBeforeNext('k', t0 + 4_000)).toBe(6_000);
    // A refund at the same instant lands in the same window, even at its last millisecond.
    expect(store.take('k', 1, t0 + 9_999)).toBe(-2);
    store.reward('k', 1, t0 + 9_999);
    expect(store.take('k', 0, t0 + 9_999)).toBe(-1);
    // At the end of the window take() starts a new one.
    expect(store.take('k', 1, t0 + 10_000)).toBe(2);
    expect(store.msBeforeNext('k', t0 + 10_000)).toBe(10_000);
    // consume() is take() + msBeforeNext() at the store's clock.
    clock.advance(10_500);
    expect(store.consume('k', 1)).toEqual({
      kind: 'allowed',
      remainingPoints: 1,
      msBeforeNext: 9_500,
      backend: 'memory',
    });
  });

  it('evicts expired keys as new keys arrive, so memory stays bounded under key churn', () => {
    const clock = manualClock();
    const store = new FixedWindowMemory({ points: 10, duration: 1 }, clock.now);
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) store.consume(`r${round}-k${i}`, 1);
      expect(store.size).toBeLessThanOrEqual(200);
      clock.advance(1_000);
    }
    // A quarter as many new keys as expired ones clear the whole backlog (4 per new window).
    for (let i = 0; i < 25; i++) store.consume(`late-${i}`, 1);
    expect(store.size).toBe(25);
  });

  it('never evicts a key whose window is still running', () => {
    const clock = manualClock();
    const store = new FixedWindowMemory({ points: 3, duration: 10 }, clock.now);
    store.consume('old', 1);
    clock.advance(5_000);
    store.consume('live', 3);
    clock.advance(5_000); // 'old' has just expired, 'live' has 5 s left
    for (let i = 0; i < 10; i++) store.consume(`new-${i}`, 1);
    expect(store.size).toBe(11);
    expect(store.consume('live', 1)).toEqual({
      kind: 'refused',
      remainingPoints: 0,
      msBeforeNext: 5_000,
      backend: 'memory',
    });
    // A key that restarts its window moves to the young end: it outlives keys started before it.
    clock.advance(5_000);
    expect(store.consume('live', 1)).toEqual({
      kind: 'allowed',
      remainingPoints: 2,
      msBeforeNext: 10_000,
      backend: 'memory',
    });
    clock.advance(5_000); // the ten new-* keys expire; 'live' has 5 s left
    store.consume('trigger-1', 1);
    store.consume('trigger-2', 1);
    store.consume('trigger-3', 1);
    expect(store.size).toBe(4);
    expect(store.consume('live', 1)).toEqual({
      kind: 'allowed',
      remainingPoints: 1,
      msBeforeNext: 5_000,
      backend: 'memory',
    });
  });

  it('decides exactly as RateLimiterMemory on a long random walk of consumes, rewards and time', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const limit = { points: 1 + Math.floor(random() * 6), duration: 1 + Math.floor(random() * 3) };
      const reference = new RateLimiterMemory(limit);
      const store = new FixedWindowMemory(limit);
      const keys = ['a', 'b', 'c', '["principal",null,"a"]', ''];
      for (let step = 0; step < 3_000; step++) {
        const key = keys[Math.floor(random() * keys.length)]!;
        const points = Math.floor(random() * 4);
        const roll = random();
        if (roll < 0.65) {
          const expected = await reference.consume(key, points).then(
            (res) => ({
              kind: 'allowed',
              remainingPoints: res.remainingPoints,
              msBeforeNext: res.msBeforeNext,
              backend: 'memory',
            }),
            (res: unknown) => {
              expect(res).toBeInstanceOf(RateLimiterRes);
              const refused = res as RateLimiterRes;
              return {
                kind: 'refused',
                remainingPoints: refused.remainingPoints,
                msBeforeNext: refused.msBeforeNext,
                backend: 'memory',
              };
            },
          );
          expect(store.consume(key, points), `seed ${seed} step ${step}`).toEqual(expected);
        } else if (roll < 0.8) {
          await reference.reward(key, points);
          store.reward(key, points);
        } else {
          vi.advanceTimersByTime(Math.floor(random() * 700));
        }
      }
    }
  });
});
