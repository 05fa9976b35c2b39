import { principalFromClaims as buildPrincipal } from './principal.js';

export type { AnyOfOptions } from './any-of.js';
export { anyOf } from './any-of.js';
export type { ApiKeyEntry, ApiKeysOptions } from './api-keys.js';
export { apiKeys, hashApiKey } from './api-keys.js';
export type {
  Authenticator,
  AuthenticatorOptions,
  AuthInfoLike,
  FoundCredential,
  HeadersLike,
  RequestLike,
} from './authenticator.js';
export { toAuthInfo } from './authenticator.js';
export type { BearerAlgorithm, BearerAuthOptions } from './bearer.js';
export { bearerAuth } from './bearer.js';
export type { ChallengeOptions, UnauthenticatedReason } from './challenge.js';
export { insufficientScopeChallenge, insufficientScopeError, unauthorizedChallenge } from './challenge.js';
export type { IntrospectionOptions } from './introspection.js';
export { introspection } from './introspection.js';
export type { JwksOptions } from './jwks.js';
export type { ProtectedResourceMetadata, ProtectedResourceMetadataOptions } from './metadata.js';
export {
  protectedResourceMetadata,
  protectedResourceMetadataHandler,
  resourceMetadataUrl,
} from './metadata.js';
export type { ClaimMapping } from './principal.js';
/**
 * Builds the principal `bearerAuth` and `introspection` would build from verified claims (a decoded
 * token payload or an introspection answer), with the same claim mapping and defaults (`sub`;
 * `client_id`/`azp`/`cid`; `scope`+`scp`; `roles`; `tenant`/`tid`). Returns `undefined` when no
 * subject (nor client id) can be found. It does not verify anything: pass claims you trust.
 *
 * @example
 * ```ts
 * import { principalFromClaims } from '@mcp-harden/auth';
 * const principal = principalFromClaims(
 *   { sub: 'alice', scope: 'notes:read', groups: ['editor'], tid: 'acme' },
 *   { roles: 'groups' },
 *   { authMethod: 'jwt' },
 * );
 * // { subject: 'alice', scopes: ['notes:read'], roles: ['editor'], tenant: 'acme', authMethod: 'jwt', claims: {...} }
 * ```
 */
export const principalFromClaims: typeof buildPrincipal = buildPrincipal;
export type { StaticPrincipalInit } from './static.js';
export { principalFromEnv, staticPrincipal } from './static.js';
