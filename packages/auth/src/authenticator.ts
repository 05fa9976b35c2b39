import {
  defineMiddleware,
  type HardenContext,
  type HealthCheck,
  type McpResult,
  type Middleware,
  type Next,
  type Principal,
} from '@mcp-harden/core';
import { digest, type ExpiringCache } from './cache.js';
import { type ChallengeOptions, unauthenticated, unauthorizedChallenge } from './challenge.js';

/** Request headers as node:http gives them (lower-case names). */
export type HeadersLike = Readonly<Record<string, string | string[] | undefined>>;

/** What the HTTP edge passes: a node `IncomingMessage`, or anything with `headers` and an optional `url`. */
export interface RequestLike {
  readonly headers: HeadersLike;
  readonly url?: string | undefined;
}

/** The credential an authentication method found in a request. */
export interface FoundCredential {
  readonly credential: string;
  /** The method that found it verifies it (set by `anyOf`). */
  readonly verify?: (credential: string) => Promise<Principal>;
}

/**
 * A way to authenticate (JWT, API key, introspection, or several with {@link anyOf}). It is a
 * {@link Middleware} that sets `ctx.principal`, and it can be used on its own at the HTTP edge.
 */
export interface Authenticator extends Middleware {
  /** `jwt`, `api-key`, `introspection`, `any-of`: what ends up in `principal.authMethod`. */
  readonly authMethod: string;
  /** Verifies one raw credential; resolves with the principal or rejects with `ERR_UNAUTHENTICATED`. */
  verify(credential: string): Promise<Principal>;
  /**
   * The HTTP edge: authenticates a node `IncomingMessage` (or `{ headers, url }`). Resolves with the
   * principal, with `undefined` when no credential was sent and `allowAnonymous` is on, and
   * otherwise rejects with `ERR_UNAUTHENTICATED` carrying the 401 `WWW-Authenticate` challenge.
   */
  authenticateRequest(request: RequestLike): Promise<Principal | undefined>;
  /** The 401 challenge this method sends. */
  challenge(tokenPresented: boolean): string;
  /** @internal the credential this method recognises in `headers`, if any; throws on a malformed header. */
  find(headers: HeadersLike): FoundCredential | undefined;
  /** @internal whether this method can verify `credential` (its shape). */
  accepts(credential: string): boolean;
}

/** Options every authenticator shares. */
export interface AuthenticatorOptions {
  /** Let requests without any credential through with no principal (later middleware decides). Default false. */
  allowAnonymous?: boolean;
  /** Where clients find the authorization server; goes into 401 challenges. */
  challenge?: ChallengeOptions;
  /** Largest credential accepted, in bytes; longer ones are refused before parsing. Default 8192. */
  maxCredentialBytes?: number;
  /** Middleware name (for `HardenError.source` and audit); default `auth`. */
  name?: string;
}

declare module '@mcp-harden/core' {
  interface HardenState {
    /** Set by `@mcp-harden/auth`: how the caller was authenticated, or that it is anonymous. */
    authentication?: { method: string; anonymous: boolean };
  }
}

// Principals made by this package; one found on `authInfo` is reused without verifying again.
const verified = new WeakSet<Principal>();

/** Marks a principal as verified by this package (so the HTTP edge's result is reused). */
export function markVerified<P extends Principal>(principal: P): P {
  verified.add(principal);
  return principal;
}

/** The SDK's `AuthInfo` shape (`@modelcontextprotocol/sdk/server/auth/types.js`). */
export interface AuthInfoLike {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt?: number;
  resource?: URL;
  extra?: Record<string, unknown>;
}

/**
 * Turns a principal verified at the HTTP edge into the SDK's `AuthInfo` (set it as `req.auth`
 * before `transport.handleRequest`); the middleware then reuses the principal instead of
 * verifying the token a second time. The token itself is left out (`token: ''`) so it cannot
 * reach tool handlers, unless you pass it.
 *
 * @example
 * ```ts
 * const principal = await auth.authenticateRequest(req);
 * if (principal) (req as { auth?: unknown }).auth = toAuthInfo(principal);
 * await transport.handleRequest(req, res, body);
 * ```
 */
export function toAuthInfo(principal: Principal, token = ''): AuthInfoLike {
  return {
    token,
    clientId: principal.clientId ?? principal.subject,
    scopes: [...principal.scopes],
    ...(principal.expiresAt === undefined ? {} : { expiresAt: principal.expiresAt }),
    extra: { principal },
  };
}

function principalOnAuthInfo(authInfo: unknown): Principal | undefined {
  const extra = (authInfo as { extra?: { principal?: unknown } } | undefined)?.extra;
  const candidate = extra?.principal;
  return typeof candidate === 'object' && candidate !== null && verified.has(candidate as Principal)
    ? (candidate as Principal)
    : undefined;
}

function tokenOnAuthInfo(authInfo: unknown): string | undefined {
  const token = (authInfo as { token?: unknown } | undefined)?.token;
  return typeof token === 'string' && token.length > 0 ? token : undefined;
}

const QUERY_CREDENTIALS = ['access_token', 'token', 'api_key', 'apikey', 'key'];

/** Refuses requests that carry a credential in the URL (RFC 6750 §5.3, MCP authorization spec). */
export function checkNoQueryCredential(url: string | undefined, challenge: () => string): void {
  if (!url) return;
  const q = url.indexOf('?');
  if (q < 0) return;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const name of params.keys()) {
    if (QUERY_CREDENTIALS.includes(name.toLowerCase())) throw unauthenticated('token_in_query', challenge());
  }
}

/** Whether `value` takes more than `maxBytes` in UTF-8; skips the count when the length decides. */
export function exceedsBytes(value: string, maxBytes: number): boolean {
  // UTF-8 takes between 1 and 3 bytes per UTF-16 code unit (a surrogate pair, 2 units, takes 4)
  if (value.length > maxBytes) return true;
  if (value.length * 3 <= maxBytes) return false;
  return Buffer.byteLength(value, 'utf8') > maxBytes;
}

/** The header value, refusing repeated headers (two credentials is a malformed request). */
export function singleHeader(
  headers: HeadersLike,
  name: string,
  challenge: () => string,
): string | undefined {
  const value = headers[name];
  if (Array.isArray(value)) {
    if (value.length > 1) throw unauthenticated('malformed_credential', challenge());
    return value[0];
  }
  return value;
}

/** Bearer token from `Authorization`, size-checked before anything else looks at it. */
export function findBearer(
  headers: HeadersLike,
  maxBytes: number,
  challenge: () => string,
): FoundCredential | undefined {
  const value = singleHeader(headers, 'authorization', challenge);
  if (value === undefined) return undefined;
  if (value.length > maxBytes + 16) throw unauthenticated('credential_too_large', challenge());
  const match = /^bearer[ ]+([^\s]+)[ ]*$/i.exec(value);
  if (!match) {
    if (/^bearer(\s|$)/i.test(value)) throw unauthenticated('malformed_credential', challenge());
    return undefined; // another scheme: not ours
  }
  const credential = match[1]!;
  if (exceedsBytes(credential, maxBytes)) throw unauthenticated('credential_too_large', challenge());
  return { credential };
}

/**
 * What `findBearer` would take as the token of an `Authorization` value, without checking it:
 * the text between the spaces after `Bearer` (any case) and any trailing spaces, or `undefined`
 * when the value does not start that way. For verified-cache look-ups only (see `lookupVerified`).
 */
export function bearerCandidate(value: string): string | undefined {
  const length = value.length;
  if (length < 8 || value.charCodeAt(6) !== 0x20) return undefined;
  for (let i = 0; i < 6; i++) {
    // ASCII letters only: `| 0x20` lower-cases them, and no other code unit maps onto `bearer`
    if ((value.charCodeAt(i) | 0x20) !== BEARER_LOWER.charCodeAt(i)) return undefined;
  }
  let start = 7;
  while (start < length && value.charCodeAt(start) === 0x20) start++;
  let end = length;
  while (end > start && value.charCodeAt(end - 1) === 0x20) end--;
  return end > start ? value.slice(start, end) : undefined;
}

const BEARER_LOWER = 'bearer';

/**
 * The principal cached for `token` (keyed by its digest), checked against `now`; refuses it when
 * it has expired. `undefined` when none is cached.
 */
export function lookupVerified(
  token: string,
  cache: ExpiringCache<Principal>,
  now: number,
  challenge: () => string,
): Principal | undefined {
  const cached = cache.get(digest(token), now);
  if (cached) checkNotExpired(cached, now, challenge);
  return cached;
}

/** Checks the options every authenticator shares. */
export function checkCommonOptions(
  options: AuthenticatorOptions,
  where: string,
): Required<Pick<AuthenticatorOptions, 'maxCredentialBytes'>> {
  if (options.allowAnonymous !== undefined && typeof options.allowAnonymous !== 'boolean') {
    throw new TypeError(`${where}: allowAnonymous must be a boolean`);
  }
  const max = options.maxCredentialBytes ?? 8192;
  if (!Number.isInteger(max) || max <= 0)
    throw new TypeError(`${where}: maxCredentialBytes must be a positive integer`);
  if (options.challenge !== undefined) unauthorizedChallenge(options.challenge); // throws TypeError on bad values
  return { maxCredentialBytes: max };
}

/** Parts a concrete method supplies to {@link buildAuthenticator}. */
export interface AuthenticatorParts {
  authMethod: string;
  verify(credential: string): Promise<Principal>;
  find(headers: HeadersLike): FoundCredential | undefined;
  accepts(credential: string): boolean;
  challenge(tokenPresented: boolean): string;
  /** Checks the `expiresAt` of a reused principal against this clock (epoch ms). */
  now: () => number;
  /**
   * The principal already verified for the credential of `headers` (found in the verified-token
   * cache, expiry checked), or `undefined` to take the full path (`find`, `accepts`, `verify`).
   * A hit must give what the full path would give, throwing included.
   */
  cachedInHeaders?(headers: HeadersLike): Principal | undefined;
  close?(): Promise<void>;
  healthChecks?: readonly HealthCheck[];
}

/** Checks a principal that is reused (edge, cache) has not expired since. */
export function checkNotExpired(principal: Principal, now: number, challenge: () => string): void {
  if (principal.expiresAt !== undefined && principal.expiresAt * 1000 <= now) {
    throw unauthenticated('expired_credential', challenge());
  }
}

/**
 * The checks every token verifier runs before its expensive part (signature, introspection call):
 * a token is present and not oversized; then the verified-token cache, keyed by the token's digest.
 */
export function precheckToken(
  token: string,
  maxBytes: number,
  cache: ExpiringCache<Principal>,
  now: number,
  challengeOf: (tokenPresented: boolean) => string,
): { key: string; cached: Principal | undefined } {
  if (typeof token !== 'string' || token.length === 0)
    throw unauthenticated('missing_credential', challengeOf(false));
  if (exceedsBytes(token, maxBytes)) throw unauthenticated('credential_too_large', challengeOf(true));
  const key = digest(token);
  const cached = cache.get(key, now);
  if (cached) checkNotExpired(cached, now, () => challengeOf(true));
  return { key, cached };
}

/** Assembles the middleware and the HTTP-edge function around a method. */
export function buildAuthenticator(parts: AuthenticatorParts, options: AuthenticatorOptions): Authenticator {
  const allowAnonymous = options.allowAnonymous === true;

  const challengeTokenPresented = () => parts.challenge(true);

  /** The credential of a request, `undefined` when anonymous is allowed and none was sent. */
  function credentialIn(headers: HeadersLike): FoundCredential | undefined {
    const found = parts.find(headers);
    if (found === undefined && !allowAnonymous) {
      throw unauthenticated('missing_credential', parts.challenge(false));
    }
    return found;
  }

  function verifyFound(found: FoundCredential): Promise<Principal> {
    if (!parts.accepts(found.credential))
      throw unauthenticated('malformed_credential', parts.challenge(true));
    return (found.verify ?? parts.verify)(found.credential);
  }

  const middleware = defineMiddleware(
    options.name ?? 'auth',
    async function authenticate(ctx: HardenContext, next: Next): Promise<McpResult> {
      if (ctx.principal !== undefined) return next(); // fixed by an earlier middleware (staticPrincipal)
      const edge = principalOnAuthInfo(ctx.request.authInfo);
      if (edge) {
        checkNotExpired(edge, parts.now(), challengeTokenPresented);
        ctx.principal = edge;
        ctx.state.authentication = { method: edge.authMethod ?? parts.authMethod, anonymous: false };
        return next();
      }
      const edgeToken = tokenOnAuthInfo(ctx.request.authInfo);
      if (edgeToken !== undefined && parts.accepts(edgeToken)) {
        ctx.principal = await parts.verify(edgeToken);
        ctx.state.authentication = { method: ctx.principal.authMethod ?? parts.authMethod, anonymous: false };
        return next();
      }
      const headers = ctx.request.headers;
      if (headers === undefined) {
        // stdio and in-memory transports carry no credentials: use staticPrincipal() there
        if (!allowAnonymous) throw unauthenticated('missing_credential', parts.challenge(false));
        ctx.state.authentication = { method: parts.authMethod, anonymous: true };
        return next();
      }
      // a principal verified earlier is used without a wait (no promise, no microtask hops)
      let principal = parts.cachedInHeaders?.(headers);
      if (principal === undefined) {
        const found = credentialIn(headers);
        principal = found === undefined ? undefined : await verifyFound(found);
      }
      if (principal) ctx.principal = principal;
      ctx.state.authentication = { method: principal?.authMethod ?? parts.authMethod, anonymous: !principal };
      return next();
    },
    { close: parts.close, healthChecks: parts.healthChecks },
  );

  return Object.assign(middleware, {
    authMethod: parts.authMethod,
    verify: parts.verify,
    find: parts.find,
    accepts: parts.accepts,
    challenge: parts.challenge,
    async authenticateRequest(request: RequestLike): Promise<Principal | undefined> {
      if (!request || typeof request.headers !== 'object' || request.headers === null) {
        throw new TypeError('authenticateRequest: expected an IncomingMessage or { headers, url }');
      }
      checkNoQueryCredential(request.url, challengeTokenPresented);
      // inline rather than through another async function: a cached principal resolves in one step
      const hit = parts.cachedInHeaders?.(request.headers);
      if (hit !== undefined) return hit;
      const found = credentialIn(request.headers);
      return found === undefined ? undefined : verifyFound(found);
    },
  });
}
