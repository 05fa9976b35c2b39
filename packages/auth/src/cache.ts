import * as crypto from 'node:crypto';

// One-shot `crypto.hash` (Node >= 20.12) is about twice as fast as a Hash object per call.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** SHA-256 of a credential, hex: the only form in which credentials are kept in memory. */
export function digest(value: string): string {
  return oneShot
    ? oneShot('sha256', value, 'hex')
    : crypto.createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * A bounded map whose entries expire. Keys are credential digests, never credentials.
 * Least recently used entries are dropped first when full.
 */
export class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  // The entry last inserted, i.e. the last in the map's order: a hit on it needs no recency bump.
  #newest: { value: V; expiresAt: number } | undefined;
  constructor(
    readonly maxEntries: number,
    readonly now: () => number,
  ) {}

  /** The live value of `key`, checked against `at` (default: the clock now). */
  get(key: string, at: number = this.now()): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= at) {
      this.#entries.delete(key);
      if (entry === this.#newest) this.#newest = undefined;
      return undefined;
    }
    // refresh recency (moving the most recent entry to the end would change nothing)
    if (entry !== this.#newest) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.#newest = entry;
    }
    return entry.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    if (this.maxEntries <= 0 || expiresAt <= this.now()) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    const entry = { value, expiresAt };
    this.#entries.set(key, entry);
    this.#newest = entry;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Keys from least to most recently used (for tests). */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  clear(): void {
    this.#entries.clear();
    this.#newest = undefined;
  }
}
