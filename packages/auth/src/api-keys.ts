import { timingSafeEqual } from 'node:crypto';
import type { Principal } from '@mcp-harden/core';
import {
  type Authenticator,
  type AuthenticatorOptions,
  buildAuthenticator,
  checkCommonOptions,
  findBearer,
  type HeadersLike,
  markVerified,
  singleHeader,
} from './authenticator.js';
import { digest } from './cache.js';
import { unauthenticated } from './challenge.js';
import { protectClaims } from './principal.js';

/** One accepted API key, stored as its SHA-256 digest (see {@link hashApiKey}), never in clear. */
export interface ApiKeyEntry {
  /** `sha256:<64 hex>` (or bare hex) digest of the key. */
  digest: string;
  /** Who the key authenticates (a service account). */
  subject: string;
  scopes?: readonly string[];
  roles?: readonly string[];
  tenant?: string;
  clientId?: string;
  /** Expiry of the key, epoch seconds. */
  expiresAt?: number;
}

/** Options of {@link apiKeys}. */
export interface ApiKeysOptions extends AuthenticatorOptions {
  /** The accepted keys. Required (may be empty only with `allowAnonymous`). */
  keys: readonly ApiKeyEntry[];
  /** Header carrying the key; default `x-api-key`. */
  header?: string;
  /** Also accept the key as `Authorization: Bearer <key>` (only keys that are not JWT-shaped). Default false. */
  acceptBearer?: boolean;
  /** Clock in epoch ms; default `Date.now`. */
  clock?: () => number;
}

/**
 * The digest to store for an API key: `sha256:<hex>`. API keys must be random and long (at least
 * 128 bits); a fast hash is then enough, and the clear key never sits in config.
 *
 * @example
 * ```ts
 * hashApiKey('mk_live_4f9c...'); // 'sha256:9b74c9897bac770ffc029102a200c5de...'
 * ```
 */
export function hashApiKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0)
    throw new TypeError('hashApiKey: key must be a non-empty string');
  return `sha256:${digest(key)}`;
}

function parseDigest(value: unknown, index: number): Buffer {
  const hex = typeof value === 'string' ? value.replace(/^sha256:/, '') : '';
  if (!/^[0-9a-f]{64}$/i.test(hex)) {
    throw new TypeError(
      `apiKeys: keys[${index}].digest must be a SHA-256 digest ("sha256:<64 hex>"); use hashApiKey()`,
    );
  }
  return Buffer.from(hex, 'hex');
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const KEY_SHAPE = /^[\x21-\x7e]+$/;

/**
 * API keys for service accounts: each key is stored as a SHA-256 digest and mapped to a
 * principal; a presented key is hashed and compared with every stored digest in constant time.
 *
 * @example
 * ```ts
 * import { apiKeys } from '@mcp-harden/auth';
 * const auth = apiKeys({
 *   keys: [{ digest: process.env.REPORTER_KEY_DIGEST!, subject: 'svc:reporter', scopes: ['reports:read'] }],
 * });
 * // clients send `X-API-Key: <key>`
 * ```
 */
export function apiKeys(options: ApiKeysOptions): Authenticator {
  if (!options || typeof options !== 'object') throw new TypeError('apiKeys: options are required');
  if (!Array.isArray(options.keys)) throw new TypeError('apiKeys: keys must be an array');
  const { maxCredentialBytes } = checkCommonOptions(options, 'apiKeys');
  const header = (options.header ?? 'x-api-key').toLowerCase();
  if (!/^[a-z0-9-]+$/.test(header) || header === 'authorization') {
    throw new TypeError('apiKeys: header must be a header name other than authorization (use acceptBearer)');
  }
  const now = options.clock ?? Date.now;
  const entries = options.keys.map((entry, i) => {
    if (!entry || typeof entry.subject !== 'string' || entry.subject.length === 0) {
      throw new TypeError(`apiKeys: keys[${i}].subject must be a non-empty string`);
    }
    const principal: Principal = Object.freeze({
      subject: entry.subject,
      ...(entry.clientId === undefined ? {} : { clientId: entry.clientId }),
      scopes: Object.freeze([...(entry.scopes ?? [])]),
      roles: Object.freeze([...(entry.roles ?? [])]),
      ...(entry.tenant === undefined ? {} : { tenant: entry.tenant }),
      authMethod: 'api-key',
      ...(entry.expiresAt === undefined ? {} : { expiresAt: entry.expiresAt }),
      claims: protectClaims({}, []),
    });
    return { digest: parseDigest(entry.digest, i), principal: markVerified(principal) };
  });
  const seen = new Set(entries.map((e) => e.digest.toString('hex')));
  if (seen.size !== entries.length) throw new TypeError('apiKeys: the same key digest appears twice');

  const challenge = () => `ApiKey header="${header}"`;

  async function verify(key: string): Promise<Principal> {
    if (typeof key !== 'string' || key.length === 0) throw unauthenticated('missing_credential', challenge());
    if (Buffer.byteLength(key, 'utf8') > maxCredentialBytes)
      throw unauthenticated('credential_too_large', challenge());
    const presented = Buffer.from(digest(key), 'hex');
    let match: Principal | undefined;
    // every digest is compared, so timing does not tell which (or whether one) matched
    for (const entry of entries) {
      if (timingSafeEqual(entry.digest, presented) && match === undefined) match = entry.principal;
    }
    if (!match) throw unauthenticated('invalid_credential', challenge());
    if (match.expiresAt !== undefined && match.expiresAt * 1000 <= now()) {
      throw unauthenticated('expired_credential', challenge());
    }
    return match;
  }

  function find(headers: HeadersLike) {
    const value = singleHeader(headers, header, challenge);
    if (value !== undefined) {
      if (Buffer.byteLength(value, 'utf8') > maxCredentialBytes)
        throw unauthenticated('credential_too_large', challenge());
      return { credential: value.trim() };
    }
    if (!options.acceptBearer) return undefined;
    const bearer = findBearer(headers, maxCredentialBytes, challenge);
    return bearer && !JWT_SHAPE.test(bearer.credential) ? bearer : undefined;
  }

  return buildAuthenticator(
    {
      authMethod: 'api-key',
      verify,
      find,
      accepts: (credential) => KEY_SHAPE.test(credential) && !JWT_SHAPE.test(credential),
      challenge: () => challenge(),
      now,
    },
    options,
  );
}
