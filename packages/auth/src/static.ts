import { defineMiddleware, type Middleware, type Principal } from '@mcp-harden/core';
import type { Authenticator } from './authenticator.js';
import { unauthenticated } from './challenge.js';
import { protectClaims } from './principal.js';

/** A principal as given to {@link staticPrincipal}: `scopes`, `roles` and `claims` may be left out. */
export type StaticPrincipalInit = Omit<Principal, 'scopes' | 'roles' | 'claims'> &
  Partial<Pick<Principal, 'scopes' | 'roles' | 'claims'>>;

/**
 * For stdio and other single-user transports: every request runs as the principal fixed at
 * start-up. Once `expiresAt` has passed, requests are refused with `ERR_UNAUTHENTICATED`.
 *
 * @example
 * ```ts
 * import { bearerAuth, staticPrincipal } from '@mcp-harden/auth';
 * const principal = await bearerAuth(options).verify(process.env.MCP_ACCESS_TOKEN ?? '');
 * const hardened = harden(server, { use: [staticPrincipal(principal), rbac(rules)] });
 * await hardened.connect(new StdioServerTransport(), { kind: 'stdio' });
 * ```
 */
export function staticPrincipal(
  principal: StaticPrincipalInit,
  options: { clock?: () => number } = {},
): Middleware {
  if (!principal || typeof principal.subject !== 'string' || principal.subject.length === 0) {
    throw new TypeError('staticPrincipal: principal.subject must be a non-empty string');
  }
  if (principal.expiresAt !== undefined && !Number.isFinite(principal.expiresAt)) {
    throw new TypeError('staticPrincipal: expiresAt must be epoch seconds');
  }
  const fixed: Principal = Object.freeze({
    ...principal,
    scopes: Object.freeze([...(principal.scopes ?? [])]),
    roles: Object.freeze([...(principal.roles ?? [])]),
    authMethod: principal.authMethod ?? 'static',
    claims: principal.claims ?? protectClaims({}, []),
  });
  const now = options.clock ?? Date.now;
  const challenge = 'Bearer error="invalid_token"';
  return defineMiddleware('auth', async function staticAuth(ctx, next) {
    if (fixed.expiresAt !== undefined && fixed.expiresAt * 1000 <= now()) {
      throw unauthenticated('expired_credential', challenge);
    }
    ctx.principal = fixed;
    ctx.state.authentication = { method: fixed.authMethod ?? 'static', anonymous: false };
    return next();
  });
}

/**
 * Verifies a credential taken from an environment variable once, at start-up, and returns the
 * {@link staticPrincipal} middleware for it (stdio servers). Throws `TypeError` when the variable
 * is unset, and the method's `ERR_UNAUTHENTICATED` when the credential is refused.
 *
 * @example
 * ```ts
 * const auth = await principalFromEnv(apiKeys({ keys }), 'MCP_API_KEY');
 * const hardened = harden(server, { use: [auth] });
 * ```
 */
export async function principalFromEnv(
  authenticator: Authenticator,
  variable: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Middleware> {
  if (!authenticator || typeof authenticator.verify !== 'function') {
    throw new TypeError('principalFromEnv: expected an authenticator from @mcp-harden/auth');
  }
  const value = env[variable];
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new TypeError(`principalFromEnv: environment variable ${variable} is not set`);
  }
  return staticPrincipal(await authenticator.verify(value.trim()));
}
