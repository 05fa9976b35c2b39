/**
 * Deterministic pseudo-random numbers in [0, 1) (mulberry32): generated-input tests use it so that
 * every run checks the same values and a failure can be replayed from its seed.
 *
 * @example
 * ```ts
 * const next = seededRandom(7);
 * const n = Math.floor(next() * 10); // the same on every run
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
