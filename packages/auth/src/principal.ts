import type { JsonObject, Principal } from '@mcp-harden/core';

/** Which claims fill which {@link Principal} field. Each entry names a claim; dots are not paths. */
export interface ClaimMapping {
  /** Default `sub`. */
  subject?: string;
  /** Claims tried in order for the client id; default `['client_id', 'azp', 'cid']`. */
  clientId?: string | readonly string[];
  /** Claims holding scopes, as a space-separated string or an array; default `['scope', 'scp']` (merged). */
  scopes?: string | readonly string[];
  /** Claims holding roles, as an array or space-separated string; default `['roles']`. */
  roles?: string | readonly string[];
  /** Claim holding the tenant; default `tenant` (then `tid`). */
  tenant?: string | readonly string[];
}

const asList = (
  value: string | readonly string[] | undefined,
  fallback: readonly string[],
): readonly string[] => (value === undefined ? fallback : typeof value === 'string' ? [value] : value);

/** Checks a mapping at construction. */
export function checkClaimMapping(mapping: ClaimMapping | undefined, where: string): void {
  if (mapping === undefined) return;
  if (typeof mapping !== 'object' || mapping === null)
    throw new TypeError(`${where}: claims must be an object`);
  for (const [key, value] of Object.entries(mapping)) {
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'string' || v === '')) {
      throw new TypeError(`${where}: claims.${key} must be a claim name or a non-empty array of claim names`);
    }
  }
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((s) => s.length > 0);
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string' && s.length > 0);
  return [];
}

function first(claims: JsonObject, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = claims[name];
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return undefined;
}

/**
 * Copies `claims`, making the sensitive ones non-enumerable: code can still read
 * `principal.claims.email`, but JSON.stringify, spreads and `Object.entries`-based loggers
 * never see them.
 */
export function protectClaims(claims: JsonObject, sensitive: readonly string[]): Readonly<JsonObject> {
  const copy: JsonObject = {};
  for (const [key, value] of Object.entries(claims)) {
    Object.defineProperty(copy, key, { value, enumerable: !sensitive.includes(key), writable: false });
  }
  return Object.freeze(copy);
}

/** Builds a principal from verified claims, or `undefined` when no subject can be found. */
export function principalFromClaims(
  claims: JsonObject,
  mapping: ClaimMapping = {},
  extra: { authMethod: string; sensitiveClaims?: readonly string[] },
): Principal | undefined {
  const subject = first(claims, asList(mapping.subject, ['sub']));
  const clientId = first(claims, asList(mapping.clientId, ['client_id', 'azp', 'cid']));
  const resolvedSubject = subject ?? clientId;
  if (resolvedSubject === undefined) return undefined;
  const scopes = new Set<string>();
  for (const name of asList(mapping.scopes, ['scope', 'scp']))
    for (const s of strings(claims[name])) scopes.add(s);
  const roles = new Set<string>();
  for (const name of asList(mapping.roles, ['roles'])) for (const r of strings(claims[name])) roles.add(r);
  const tenant = first(claims, asList(mapping.tenant, ['tenant', 'tid']));
  const exp = claims.exp;
  return Object.freeze({
    subject: resolvedSubject,
    ...(clientId === undefined ? {} : { clientId }),
    scopes: Object.freeze([...scopes]),
    roles: Object.freeze([...roles]),
    ...(tenant === undefined ? {} : { tenant }),
    authMethod: extra.authMethod,
    ...(typeof exp === 'number' ? { expiresAt: exp } : {}),
    claims: protectClaims(claims, extra.sensitiveClaims ?? []),
  });
}
