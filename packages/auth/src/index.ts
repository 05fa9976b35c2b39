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
export type { StaticPrincipalInit } from './static.js';
export { principalFromEnv, staticPrincipal } from './static.js';
