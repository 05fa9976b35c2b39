import type { JsonObject, Principal } from '@mcp-harden/core';
import {
  createLocalJWKSet,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import {
  type Authenticator,
  type AuthenticatorOptions,
  bearerCandidate,
  buildAuthenticator,
  checkCommonOptions,
  findBearer,
  type HeadersLike,
  lookupVerified,
  markVerified,
  precheckToken,
} from './authenticator.js';
import { ExpiringCache } from './cache.js';
import { unauthenticated, unauthorizedChallenge } from './challenge.js';
import { checkSecureUrl, type JwksOptions, JwksUnavailable, RemoteJwks } from './jwks.js';
import { type ClaimMapping, checkClaimMapping, principalFromClaims } from './principal.js';

/** Asymmetric JWS algorithms `bearerAuth` accepts. Symmetric (`HS*`) and `none` are refused. */
export type BearerAlgorithm =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519';

const ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Options of {@link bearerAuth}. `issuer`, `audience`, `algorithms` and one key source are required. */
export interface BearerAuthOptions extends AuthenticatorOptions {
  /** Expected `iss` (one, or any of several). Required. */
  issuer: string | readonly string[];
  /** This server's identifier(s) (RFC 8707): tokens whose `aud` does not name it are refused. Required. */
  audience: string | readonly string[];
  /** Accepted signing algorithms. Required; asymmetric only. */
  algorithms: readonly BearerAlgorithm[];
  /** Remote JWKS (https, or http on loopback). Give this or `keys`. */
  jwksUri?: string | URL;
  /** Fetching and caching of the remote JWKS. */
  jwks?: JwksOptions;
  /** Local public keys as a JWKS or JWK list. Give this or `jwksUri`. */
  keys?: JSONWebKeySet | readonly JWK[];
  /** Allowed clock skew for `exp`/`nbf`/`iat`, seconds. Default 0. */
  clockTolerance?: number;
  /** Refuse tokens whose `iat` is older than this, seconds (needs `iat`). */
  maxTokenAge?: number;
  /** Claims that must be present besides `exp` (always required). */
  requiredClaims?: readonly string[];
  /** Expected `typ` header (`at+jwt` for RFC 9068 access tokens). */
  typ?: string;
  /** Claim names for the principal's fields. */
  claims?: ClaimMapping;
  /** Claims hidden from serialisation on `principal.claims` (still readable by name). */
  sensitiveClaims?: readonly string[];
  /** Verified-token cache; `false` turns it off. */
  cache?: false | { maxEntries?: number; maxAgeMs?: number };
  /** Clock in epoch ms, for tests (`createFakeClock().now`). Default `Date.now`. */
  clock?: () => number;
}

const JWS_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function nonEmptyStrings(value: unknown, name: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some((v) => typeof v !== 'string' || v.length === 0)
  ) {
    throw new TypeError(`bearerAuth: ${name} is required (a non-empty string or array of strings)`);
  }
  return list as string[];
}

function reasonOf(
  err: unknown,
): 'expired_credential' | 'invalid_credential' | 'malformed_credential' | 'unavailable' {
  if (err instanceof joseErrors.JWTExpired) return 'expired_credential';
  if (err instanceof JwksUnavailable) return 'unavailable';
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid)
    return 'malformed_credential';
  return 'invalid_credential';
}

/**
 * jose errors can carry the decoded payload (`JWTClaimValidationFailed.payload`); keep only the
 * name, code and message (which never hold claim values) so logging `cause` cannot leak claims.
 */
function safeCause(err: unknown): Error {
  if (err instanceof JwksUnavailable) {
    const inner = err.cause instanceof Error ? `${err.cause.name}: ${err.cause.message}` : 'no keys held';
    return new Error(`JWKS unavailable (${inner})`);
  }
  if (err instanceof joseErrors.JOSEError) return new Error(`${err.name} ${err.code}: ${err.message}`);
  return new Error(err instanceof Error ? err.name : 'verification failed');
}

/**
 * Verifies JWT access tokens (OAuth 2.1 resource server, MCP authorization spec): signature by
 * a remote JWKS or local keys, `iss`, `aud` (RFC 8707), `exp` (required), `nbf`, algorithm
 * allow-list, optional `maxTokenAge`/`requiredClaims`/`typ`. Verified tokens are cached by
 * SHA-256 digest, never past `exp`. Returns a middleware that sets `ctx.principal`, with
 * `authenticateRequest(req)` for the HTTP edge and `verify(token)` for stdio start-up.
 *
 * @example
 * ```ts
 * import { bearerAuth } from '@mcp-harden/auth';
 * const auth = bearerAuth({
 *   jwksUri: 'https://auth.example.com/.well-known/jwks.json',
 *   issuer: 'https://auth.example.com',
 *   audience: 'https://mcp.example.com/mcp',
 *   algorithms: ['RS256', 'ES256'],
 *   challenge: { resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp' },
 * });
 * const hardened = harden(server, { use: [auth] });
 * ```
 */
export function bearerAuth(options: BearerAuthOptions): Authenticator {
  if (!options || typeof options !== 'object') throw new TypeError('bearerAuth: options are required');
  const issuer = nonEmptyStrings(options.issuer, 'issuer');
  const audience = nonEmptyStrings(options.audience, 'audience');
  if (!Array.isArray(options.algorithms) || options.algorithms.length === 0) {
    throw new TypeError('bearerAuth: algorithms is required (for example ["RS256"])');
  }
  for (const alg of options.algorithms) {
    if (!ALGORITHMS.includes(alg)) {
      throw new TypeError(
        `bearerAuth: algorithm ${JSON.stringify(alg)} is not allowed (asymmetric algorithms only)`,
      );
    }
  }
  if ((options.jwksUri === undefined) === (options.keys === undefined)) {
    throw new TypeError('bearerAuth: give exactly one of jwksUri or keys');
  }
  const { maxCredentialBytes } = checkCommonOptions(options, 'bearerAuth');
  checkClaimMapping(options.claims, 'bearerAuth');
  const clockTolerance = options.clockTolerance ?? 0;
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) {
    throw new TypeError('bearerAuth: clockTolerance must be a non-negative number of seconds');
  }
  if (
    options.maxTokenAge !== undefined &&
    (!Number.isFinite(options.maxTokenAge) || options.maxTokenAge <= 0)
  ) {
    throw new TypeError('bearerAuth: maxTokenAge must be a positive number of seconds');
  }
  const requiredClaims = ['exp', ...(options.requiredClaims ?? [])];
  if (requiredClaims.some((c) => typeof c !== 'string' || c.length === 0)) {
    throw new TypeError('bearerAuth: requiredClaims must be claim names');
  }
  const now = options.clock ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('bearerAuth: clock must be a function');
  const cacheOptions = options.cache === false ? { maxEntries: 0, maxAgeMs: 0 } : (options.cache ?? {});
  const cacheMaxEntries = cacheOptions.maxEntries ?? 1000;
  const cacheMaxAgeMs = cacheOptions.maxAgeMs ?? 60_000;
  if (
    !Number.isInteger(cacheMaxEntries) ||
    cacheMaxEntries < 0 ||
    !Number.isFinite(cacheMaxAgeMs) ||
    cacheMaxAgeMs < 0
  ) {
    throw new TypeError('bearerAuth: cache.maxEntries and cache.maxAgeMs must be non-negative');
  }

  let remote: RemoteJwks | undefined;
  let getKey: Parameters<typeof jwtVerify>[1];
  if (options.jwksUri !== undefined) {
    remote = new RemoteJwks(checkSecureUrl(options.jwksUri, 'bearerAuth: jwksUri'), options.jwks ?? {}, now);
    getKey = remote.getKey as Parameters<typeof jwtVerify>[1];
  } else {
    const keys = Array.isArray(options.keys) ? { keys: options.keys } : (options.keys as JSONWebKeySet);
    if (!keys || !Array.isArray(keys.keys) || keys.keys.length === 0) {
      throw new TypeError('bearerAuth: keys must be a non-empty JWKS or JWK array');
    }
    for (const key of keys.keys) {
      if (key.kty === 'oct' || 'd' in key) throw new TypeError('bearerAuth: keys must be public keys');
    }
    getKey = createLocalJWKSet(keys as JSONWebKeySet) as Parameters<typeof jwtVerify>[1];
  }

  const challengeOf = (tokenPresented: boolean) =>
    unauthorizedChallenge({ ...options.challenge, tokenPresented });
  const challengeTokenPresented = () => challengeOf(true);
  const cache = new ExpiringCache<Principal>(cacheMaxEntries, now);
  const sensitiveClaims = options.sensitiveClaims ?? [];

  // concurrent calls with the same cold token share one signature check
  const inflight = new Map<string, Promise<Principal>>();

  async function verify(token: string): Promise<Principal> {
    const { key, cached } = precheckToken(token, maxCredentialBytes, cache, now(), challengeOf);
    if (cached) return cached;
    if (!JWS_SHAPE.test(token)) throw unauthenticated('malformed_credential', challengeOf(true));
    const running = inflight.get(key);
    if (running) return running;
    const fresh = verifyUncached(token, key).finally(() => inflight.delete(key));
    inflight.set(key, fresh);
    return fresh;
  }

  async function verifyUncached(token: string, key: string): Promise<Principal> {
    const verifyOptions: JWTVerifyOptions = {
      issuer,
      audience,
      algorithms: [...options.algorithms],
      clockTolerance,
      requiredClaims,
      currentDate: new Date(now()),
      ...(options.maxTokenAge === undefined ? {} : { maxTokenAge: options.maxTokenAge }),
      ...(options.typ === undefined ? {} : { typ: options.typ }),
    };
    let payload: JsonObject;
    try {
      ({ payload } = (await jwtVerify(token, getKey, verifyOptions)) as unknown as { payload: JsonObject });
    } catch (err) {
      throw unauthenticated(reasonOf(err), challengeOf(true), safeCause(err));
    }
    if (typeof payload.exp !== 'number') throw unauthenticated('invalid_credential', challengeOf(true));
    const principal = principalFromClaims(payload, options.claims, { authMethod: 'jwt', sensitiveClaims });
    if (!principal) throw unauthenticated('invalid_credential', challengeOf(true));
    markVerified(principal);
    cache.set(key, principal, Math.min(payload.exp * 1000, now() + cacheMaxAgeMs));
    return principal;
  }

  /**
   * The cached principal for the request's bearer token, skipping the parse and shape checks of
   * the full path: only tokens that passed them (and the size limit) are ever cached, so a token
   * whose digest is found would pass them too, and anything else is simply not found.
   */
  function cachedInHeaders(headers: HeadersLike): Principal | undefined {
    const value = headers.authorization;
    // repeated or oversized headers are refused by the full path
    if (typeof value !== 'string' || value.length > maxCredentialBytes + 16) return undefined;
    const token = bearerCandidate(value);
    if (token === undefined) return undefined;
    return lookupVerified(token, cache, now(), challengeTokenPresented);
  }

  return buildAuthenticator(
    {
      authMethod: 'jwt',
      verify,
      find: (headers) => findBearer(headers, maxCredentialBytes, challengeTokenPresented),
      accepts: (credential) => JWS_SHAPE.test(credential),
      challenge: challengeOf,
      now,
      cachedInHeaders,
      ...(remote
        ? {
            healthChecks: [
              {
                name: 'jwks',
                async check() {
                  await remote.refresh();
                },
              },
            ],
          }
        : {}),
    },
    options,
  );
}
