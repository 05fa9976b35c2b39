import { createHash } from 'node:crypto';
import type { Principal } from '@mcp-harden/core';

/** Keys longer than this are replaced by a digest, so a huge target name cannot bloat the store. */
const MAX_PLAIN_KEY = 160;

/**
 * Encodes key components unambiguously: a JSON array, so no choice of subject, tenant, session
 * id or target can produce another component list's key. Long keys become `#<sha256>` (a JSON
 * array always starts with `[`, so the two forms cannot meet either).
 */
export function encodeKey(parts: readonly (string | null)[]): string {
  const json = JSON.stringify(parts);
  if (json.length <= MAX_PLAIN_KEY) return json;
  return `#${createHash('sha256').update(json).digest('base64url')}`;
}

/**
 * Who a budget belongs to: the subject within its tenant, or one shared anonymous bucket when
 * no principal was set (so unauthenticated traffic is limited as a whole, never unlimited).
 */
export function principalParts(principal: Principal | undefined): (string | null)[] {
  if (!principal) return ['anonymous'];
  return ['principal', principal.tenant ?? null, principal.subject];
}

/** Principals (subject + tenant) remembered by a {@link KeyCache} before it starts over. */
const MAX_CACHED_PRINCIPALS = 1024;
/** Targets remembered per principal before that principal's target keys start over. */
const MAX_CACHED_TARGETS = 64;

/**
 * A two-level map keyed by exact component values (no composite string, so two different
 * component lists never share an entry) that starts over once it holds `max` values.
 */
class BoundedNestedMap<A, B, V> {
  #map = new Map<A, Map<B, V>>();
  #count = 0;
  constructor(readonly max: number) {}

  /** Values held. */
  get count(): number {
    return this.#count;
  }

  get(a: A, b: B): V | undefined {
    return this.#map.get(a)?.get(b);
  }

  /** Stores `value` (after starting over when full) and returns it. */
  add(a: A, b: B, value: V): V {
    if (this.#count >= this.max) {
      this.#map.clear();
      this.#count = 0;
    }
    let inner = this.#map.get(a);
    if (inner === undefined) {
      inner = new Map();
      this.#map.set(a, inner);
    }
    inner.set(b, value);
    this.#count++;
    return value;
  }
}

/** The encoded keys of one principal: its own, and its principal+target keys. */
export interface PrincipalKeys {
  /** `encodeKey(principalParts(principal))`. */
  readonly key: string;
  /** `principal:${key}`: the principal's concurrency slot. */
  readonly slotKey: string;
  /** `encodeKey([...principalParts(principal), kind, target])` by kind, then target. */
  readonly targets: BoundedNestedMap<string | null, string, string>;
}

const keysOf = (key: string): PrincipalKeys => ({
  key,
  slotKey: `principal:${key}`,
  targets: new BoundedNestedMap(MAX_CACHED_TARGETS),
});

/** Targets whose concurrency slot key a {@link KeyCache} remembers before it starts over. */
const MAX_CACHED_TOOL_SLOTS = 1024;

/**
 * Remembers {@link encodeKey} results per principal and per principal + target, so a call does not
 * pay a `JSON.stringify` per level. Every value is what `encodeKey` returns for those components.
 * Bounded: past `MAX_CACHED_PRINCIPALS` principals (or `MAX_CACHED_TARGETS` targets of one
 * principal, or `MAX_CACHED_TOOL_SLOTS` target slots) that part of the cache starts over.
 */
export class KeyCache {
  readonly #principals = new BoundedNestedMap<string, string | null, PrincipalKeys>(MAX_CACHED_PRINCIPALS);
  #anonymous: PrincipalKeys | undefined;
  readonly #toolSlots = new BoundedNestedMap<string | null, string, string>(MAX_CACHED_TOOL_SLOTS);

  /** Principals currently remembered (for tests). */
  get size(): number {
    return this.#principals.count + (this.#anonymous ? 1 : 0);
  }

  /** The keys of `principal`; `key` is `encodeKey(principalParts(principal))`. */
  entryFor(principal: Principal | undefined): PrincipalKeys {
    if (!principal) {
      this.#anonymous ??= keysOf(encodeKey(principalParts(undefined)));
      return this.#anonymous;
    }
    const tenant = principal.tenant ?? null;
    return (
      this.#principals.get(principal.subject, tenant) ??
      this.#principals.add(principal.subject, tenant, keysOf(encodeKey(principalParts(principal))))
    );
  }

  /** Target slot keys currently remembered (for tests). */
  get toolSlotCount(): number {
    return this.#toolSlots.count;
  }

  /** `tool:${encodeKey([kind, target])}`: the concurrency slot of a target. */
  toolSlotKey(kind: string | null, target: string): string {
    return (
      this.#toolSlots.get(kind, target) ??
      this.#toolSlots.add(kind, target, `tool:${encodeKey([kind, target])}`)
    );
  }

  /** `encodeKey(principalParts(principal))`. */
  principalKey(principal: Principal | undefined): string {
    return this.entryFor(principal).key;
  }

  /** `encodeKey([...principalParts(principal), kind, target])`. */
  targetKey(principal: Principal | undefined, kind: string | null, target: string): string {
    return this.targetKeyIn(this.entryFor(principal), principal, kind, target);
  }

  /** {@link targetKey} when the caller already has `entryFor(principal)`. */
  targetKeyIn(
    entry: PrincipalKeys,
    principal: Principal | undefined,
    kind: string | null,
    target: string,
  ): string {
    return (
      entry.targets.get(kind, target) ??
      entry.targets.add(kind, target, encodeKey([...principalParts(principal), kind, target]))
    );
  }
}
