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
  constructor(
    readonly maxEntries: number,
    readonly now: () => number,
  ) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    // refresh recency
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    if (this.maxEntries <= 0 || expiresAt <= this.now()) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, expiresAt });
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}
