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
