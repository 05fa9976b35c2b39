import { HardenError } from '@mcp-harden/core';

/** Where clients find the authorization server and which scopes to ask for; used in 401/403 challenges. */
export interface ChallengeOptions {
  /** URL of this server's RFC 9728 protected-resource metadata document (see {@link resourceMetadataUrl}). */
  resourceMetadataUrl?: string | URL;
  /** Scopes a client should request (RFC 6750 `scope`). */
  scopes?: readonly string[];
  /** Optional `realm`. */
  realm?: string;
}

/** Stable reasons carried in `error.data.reason` of an `ERR_UNAUTHENTICATED` refusal. */
export type UnauthenticatedReason =
  | 'missing_credential'
  | 'malformed_credential'
  | 'credential_too_large'
  | 'token_in_query'
  | 'invalid_credential'
  | 'expired_credential'
  | 'unavailable';

// RFC 7230 quoted-string: refuse characters that would break out of the quotes.
function quote(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x22 || c === 0x5c) {
      throw new TypeError('challenge parameter contains a forbidden character');
    }
  }
  return `"${value}"`;
}

function checkScopes(scopes: readonly string[] | undefined): void {
  for (const scope of scopes ?? []) {
    // RFC 6749 scope-token: %x21 / %x23-5B / %x5D-7E
    if (typeof scope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) {
      throw new TypeError(`invalid scope token: ${JSON.stringify(scope)}`);
    }
  }
}

function bearer(params: Array<[string, string | undefined]>): string {
  const parts = params
    .filter((p): p is [string, string] => p[1] !== undefined)
    .map(([k, v]) => `${k}=${quote(v)}`);
  return parts.length === 0 ? 'Bearer' : `Bearer ${parts.join(', ')}`;
}

/**
 * The `WWW-Authenticate` value of a 401 (MCP authorization spec, RFC 6750, RFC 9728):
 * `Bearer resource_metadata="…", scope="…"`, plus `error="invalid_token"` when a token was
 * presented but refused. Never contains the token.
 *
 * @example
 * ```ts
 * res.writeHead(401, {
 *   'WWW-Authenticate': unauthorizedChallenge({
 *     resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
 *     scopes: ['notes:read'],
 *     tokenPresented: true,
 *   }),
 * }).end();
 * ```
 */
export function unauthorizedChallenge(
  options: ChallengeOptions & { tokenPresented?: boolean; error?: 'invalid_token' | 'invalid_request' } = {},
): string {
  checkScopes(options.scopes);
  const error = options.error ?? (options.tokenPresented ? 'invalid_token' : undefined);
  return bearer([
    ['realm', options.realm],
    ['error', error],
    ['resource_metadata', options.resourceMetadataUrl?.toString()],
    ['scope', options.scopes && options.scopes.length > 0 ? options.scopes.join(' ') : undefined],
  ]);
}

/**
 * The `WWW-Authenticate` value of a 403 when a call needs scopes the token lacks:
 * `Bearer error="insufficient_scope", scope="…", resource_metadata="…"`. List every scope
 * the request needs (granted ones included) so the client can step up in one go.
 *
 * @example
 * ```ts
 * insufficientScopeChallenge({ scopes: ['notes:read', 'notes:write'], resourceMetadataUrl });
 * // 'Bearer error="insufficient_scope", scope="notes:read notes:write", resource_metadata="…"'
 * ```
 */
export function insufficientScopeChallenge(
  options: ChallengeOptions & { scopes: readonly string[] },
): string {
  if (!options || !Array.isArray(options.scopes) || options.scopes.length === 0) {
    throw new TypeError('insufficientScopeChallenge: scopes must be a non-empty array');
  }
  checkScopes(options.scopes);
  return bearer([
    ['realm', options.realm],
    ['error', 'insufficient_scope'],
    ['scope', options.scopes.join(' ')],
    ['resource_metadata', options.resourceMetadataUrl?.toString()],
  ]);
}

/**
 * The refusal for a call that needs more scopes: `ERR_INSUFFICIENT_SCOPE` (HTTP 403,
 * JSON-RPC -32012) with `error.data.requiredScopes` and the 403 challenge in `httpHeaders`.
 * `rbac` throws the same shape; use this in your own checks.
 *
 * @example
 * ```ts
 * if (!ctx.principal?.scopes.includes('notes:write')) {
 *   throw insufficientScopeError(['notes:read', 'notes:write'], { resourceMetadataUrl });
 * }
 * ```
 */
export function insufficientScopeError(
  requiredScopes: readonly string[],
  options: ChallengeOptions = {},
): HardenError {
  const header = insufficientScopeChallenge({ ...options, scopes: requiredScopes });
  return new HardenError('ERR_INSUFFICIENT_SCOPE', 'Insufficient scope', {
    data: { requiredScopes: [...requiredScopes] },
    httpHeaders: { 'WWW-Authenticate': header },
  });
}

const MESSAGES: Record<UnauthenticatedReason, string> = {
  missing_credential: 'Authentication required',
  malformed_credential: 'Malformed credential',
  credential_too_large: 'Credential too large',
  token_in_query: 'Credentials are not accepted in the query string',
  invalid_credential: 'Invalid credential',
  expired_credential: 'Credential expired',
  unavailable: 'Credential could not be verified',
};

/** Builds an `ERR_UNAUTHENTICATED` refusal; the message and data never contain the credential. */
export function unauthenticated(
  reason: UnauthenticatedReason,
  challenge: string,
  cause?: unknown,
): HardenError {
  return new HardenError('ERR_UNAUTHENTICATED', MESSAGES[reason], {
    data: { reason },
    httpHeaders: { 'WWW-Authenticate': challenge },
    cause,
  });
}
