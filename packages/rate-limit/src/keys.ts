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

/** The encoded keys of one principal: its own, and its principal+target keys. */
export interface PrincipalKeys {
  /** `encodeKey(principalParts(principal))`. */
  readonly key: string;
  /** `principal:${key}`: the principal's concurrency slot. */
  readonly slotKey: string;
  /** `encodeKey([...principalParts(principal), kind, target])` by kind, then target. */
  readonly targets: Map<string | null, Map<string, string>>;
  targetCount: number;
}

const keysOf = (key: string): PrincipalKeys => ({
  key,
  slotKey: `principal:${key}`,
  targets: new Map(),
  targetCount: 0,
});

/** Targets whose concurrency slot key a {@link KeyCache} remembers before it starts over. */
const MAX_CACHED_TOOL_SLOTS = 1024;

/**
 * Remembers {@link encodeKey} results per principal and per principal + target, so a call does not
 * pay a `JSON.stringify` per level. Lookups go through nested `Map`s keyed by the exact component
 * values (no composite string), so two different component lists can never share an entry, and
 * every value is what `encodeKey` returns for those components. Bounded: past
 * `MAX_CACHED_PRINCIPALS` principals (or `MAX_CACHED_TARGETS` targets of one principal) the
 * cache starts over.
 */
export class KeyCache {
  #bySubject = new Map<string, Map<string | null, PrincipalKeys>>();
  #principals = 0;
  #anonymous: PrincipalKeys | undefined;
  #toolSlots = new Map<string | null, Map<string, string>>();
  #toolSlotCount = 0;

  /** Principals currently remembered (for tests). */
  get size(): number {
    return this.#principals + (this.#anonymous ? 1 : 0);
  }

  /** The keys of `principal`; `key` is `encodeKey(principalParts(principal))`. */
  entryFor(principal: Principal | undefined): PrincipalKeys {
    if (!principal) {
      this.#anonymous ??= keysOf(encodeKey(principalParts(undefined)));
      return this.#anonymous;
    }
    const tenant = principal.tenant ?? null;
    let byTenant = this.#bySubject.get(principal.subject);
    let entry = byTenant?.get(tenant);
    if (entry !== undefined) return entry;
    if (this.#principals >= MAX_CACHED_PRINCIPALS) {
      this.#bySubject = new Map();
      this.#principals = 0;
      byTenant = undefined;
    }
    if (byTenant === undefined) {
      byTenant = new Map();
      this.#bySubject.set(principal.subject, byTenant);
    }
    entry = keysOf(encodeKey(principalParts(principal)));
    byTenant.set(tenant, entry);
    this.#principals++;
    return entry;
  }

  /** Target slot keys currently remembered (for tests). */
  get toolSlotCount(): number {
    return this.#toolSlotCount;
  }

  /** `tool:${encodeKey([kind, target])}`: the concurrency slot of a target. */
  toolSlotKey(kind: string | null, target: string): string {
    let byTarget = this.#toolSlots.get(kind);
    let key = byTarget?.get(target);
    if (key !== undefined) return key;
    if (this.#toolSlotCount >= MAX_CACHED_TOOL_SLOTS) {
      this.#toolSlots.clear();
      this.#toolSlotCount = 0;
      byTarget = undefined;
    }
    if (byTarget === undefined) {
      byTarget = new Map();
      this.#toolSlots.set(kind, byTarget);
    }
    key = `tool:${encodeKey([kind, target])}`;
    byTarget.set(target, key);
    this.#toolSlotCount++;
    return key;
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
    let byTarget = entry.targets.get(kind);
    let key = byTarget?.get(target);
    if (key !== undefined) return key;
    if (entry.targetCount >= MAX_CACHED_TARGETS) {
      entry.targets.clear();
      entry.targetCount = 0;
      byTarget = undefined;
    }
    if (byTarget === undefined) {
      byTarget = new Map();
      entry.targets.set(kind, byTarget);
    }
    key = encodeKey([...principalParts(principal), kind, target]);
    byTarget.set(target, key);
    entry.targetCount++;
    return key;
  }
}
