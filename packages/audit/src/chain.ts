import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { canonicalJson, sha256Hex } from './canonical.js';
import type { AuditEvent } from './types.js';

/**
 * `prevHash` of the first record of a chain.
 *
 * @example
 * ```ts
 * await verifyChain(files, { startHash: GENESIS_HASH });
 * ```
 */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * One line of a hash-chained audit file.
 *
 * @example
 * ```ts
 * const record = JSON.parse(line) as ChainRecord;
 * record.hash === chainHash(record.prevHash, record.event);
 * ```
 */
export interface ChainRecord {
  /** Record format version. */
  v: 1;
  /** `hash` of the record before this one (across rotated files), or {@link GENESIS_HASH}. */
  prevHash: string;
  /** SHA-256 hex of `prevHash` followed by the canonical JSON of `{ v, prevHash, event }`. */
  hash: string;
  event: AuditEvent;
}

/**
 * The hash of a chain record: SHA-256 over `prevHash` + canonical JSON of `{ v: 1, prevHash, event }`.
 *
 * @example
 * ```ts
 * const hash = chainHash(GENESIS_HASH, event);
 * ```
 */
export function chainHash(prevHash: string, event: unknown): string {
  return sha256Hex(prevHash + canonicalJson({ v: 1, prevHash, event }));
}

/**
 * The files of a rotated chain, oldest first: `<path>.1`, `<path>.2`, ..., then `<path>`.
 *
 * @example
 * ```ts
 * const report = await verifyChain(chainFiles('/var/log/mcp/audit.log'));
 * ```
 */
export function chainFiles(path: string): string[] {
  const dir = dirname(path);
  const base = basename(path);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const rotated = entries
    .map((name) => (name.startsWith(`${base}.`) ? /^\d+$/.exec(name.slice(base.length + 1)) : null))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[0]))
    .sort((a, b) => a - b)
    .map((n) => join(dir, `${base}.${n}`));
  return entries.includes(base) ? [...rotated, path] : rotated;
}
