import type { JsonObject, Principal } from '@mcp-harden/core';
import {
  type Authenticator,
  type AuthenticatorOptions,
  buildAuthenticator,
  checkCommonOptions,
  findBearer,
  markVerified,
  precheckToken,
} from './authenticator.js';
import { ExpiringCache } from './cache.js';
import { unauthenticated, unauthorizedChallenge } from './challenge.js';
import { checkSecureUrl } from './jwks.js';
import { type ClaimMapping, checkClaimMapping, principalFromClaims } from './principal.js';

/** Options of {@link introspection}. */
export interface IntrospectionOptions extends AuthenticatorOptions {
  /** RFC 7662 introspection endpoint (https, or http on loopback). Required. */
  endpoint: string | URL;
  /** This server's identifier(s): the response's `aud` must name one (RFC 8707). Required. */
  audience: string | readonly string[];
  /** Client credentials of this resource server at the authorization server (HTTP Basic). */
  clientId?: string;
  clientSecret?: string;
  /** Other headers to send (for example a bearer token of this server); never the client's token. */
  headers?: Readonly<Record<string, string>>;
  /** Expected `iss` of the response, when the server sends one. */
  issuer?: string;
  /** Refuse active tokens without `exp`. Default true. */
  requireExp?: boolean;
  /** Time-out of one introspection call, ms. Default 5000. */
  timeoutMs?: number;
  /** Cache of active tokens (by digest, never past `exp`); `false` turns it off. */
  cache?: false | { maxEntries?: number; maxAgeMs?: number };
  /** Claim names for the principal's fields. */
  claims?: ClaimMapping;
  /** Claims hidden from serialisation on `principal.claims`. */
  sensitiveClaims?: readonly string[];
  /** Clock in epoch ms; default `Date.now`. */
  clock?: () => number;
}

/**
 * RFC 7662 token introspection for opaque access tokens: asks the authorization server whether
 * a token is active, checks `aud`, `exp` and (when given) `iss`, and caches active answers by
 * token digest, never past `exp`.
 *
 * @example
 * ```ts
 * import { introspection } from '@mcp-harden/auth';
 * const auth = introspection({
 *   endpoint: 'https://auth.example.com/oauth/introspect',
 *   clientId: 'mcp-server',
 *   clientSecret: process.env.INTROSPECTION_SECRET,
 *   audience: 'https://mcp.example.com/mcp',
 * });
 * ```
 */
export function introspection(options: IntrospectionOptions): Authenticator {
  if (!options || typeof options !== 'object') throw new TypeError('introspection: options are required');
  const endpoint = checkSecureUrl(options.endpoint, 'introspection: endpoint');
  const audience = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (
    !Array.isArray(audience) ||
    audience.length === 0 ||
    audience.some((a) => typeof a !== 'string' || !a)
  ) {
    throw new TypeError('introspection: audience is required');
  }
  if ((options.clientId === undefined) !== (options.clientSecret === undefined)) {
    throw new TypeError('introspection: give both clientId and clientSecret, or neither');
  }
  const { maxCredentialBytes } = checkCommonOptions(options, 'introspection');
  checkClaimMapping(options.claims, 'introspection');
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new TypeError('introspection: timeoutMs must be positive');
  const now = options.clock ?? Date.now;
  const cacheOptions = options.cache === false ? { maxEntries: 0, maxAgeMs: 0 } : (options.cache ?? {});
  const cache = new ExpiringCache<Principal>(cacheOptions.maxEntries ?? 1000, now);
  const cacheMaxAgeMs = cacheOptions.maxAgeMs ?? 60_000;
  const requireExp = options.requireExp ?? true;
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    ...options.headers,
  };
  if (options.clientId !== undefined) {
    const basic = `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret!)}`;
    headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  }
  const challengeOf = (tokenPresented: boolean) =>
    unauthorizedChallenge({ ...options.challenge, tokenPresented });

  async function ask(token: string): Promise<JsonObject> {
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw unauthenticated('unavailable', challengeOf(true), err);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw unauthenticated(
        'unavailable',
        challengeOf(true),
        new Error(`introspection answered ${response.status}`),
      );
    }
    try {
      const body = (await response.json()) as unknown;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
      return body as JsonObject;
    } catch (err) {
      throw unauthenticated('unavailable', challengeOf(true), err);
    }
  }

  async function verify(token: string): Promise<Principal> {
    const { key, cached } = precheckToken(token, maxCredentialBytes, cache, now(), challengeOf);
    if (cached) return cached;
    const answer = await ask(token);
    if (answer.active !== true) throw unauthenticated('invalid_credential', challengeOf(true));
    const exp = answer.exp;
    if (exp !== undefined && typeof exp !== 'number')
      throw unauthenticated('invalid_credential', challengeOf(true));
    if (exp === undefined && requireExp) throw unauthenticated('invalid_credential', challengeOf(true));
    if (typeof exp === 'number' && exp * 1000 <= now())
      throw unauthenticated('expired_credential', challengeOf(true));
    const nbf = answer.nbf;
    if (typeof nbf === 'number' && nbf * 1000 > now())
      throw unauthenticated('invalid_credential', challengeOf(true));
    const aud = typeof answer.aud === 'string' ? [answer.aud] : Array.isArray(answer.aud) ? answer.aud : [];
    if (!aud.some((a) => typeof a === 'string' && audience.includes(a))) {
      throw unauthenticated('invalid_credential', challengeOf(true));
    }
    if (options.issuer !== undefined && answer.iss !== undefined && answer.iss !== options.issuer) {
      throw unauthenticated('invalid_credential', challengeOf(true));
    }
    const principal = principalFromClaims(answer, options.claims, {
      authMethod: 'introspection',
      sensitiveClaims: options.sensitiveClaims ?? [],
    });
    if (!principal) throw unauthenticated('invalid_credential', challengeOf(true));
    markVerified(principal);
    const until =
      typeof exp === 'number' ? Math.min(exp * 1000, now() + cacheMaxAgeMs) : now() + cacheMaxAgeMs;
    cache.set(key, principal, until);
    return principal;
  }

  return buildAuthenticator(
    {
      authMethod: 'introspection',
      verify,
      find: (h) => findBearer(h, maxCredentialBytes, () => challengeOf(true)),
      accepts: (credential) => /^[\x21-\x7e]+$/.test(credential),
      challenge: challengeOf,
      now,
    },
    options,
  );
}
