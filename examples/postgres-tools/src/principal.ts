import { AsyncLocalStorage } from 'node:async_hooks';
import { defineMiddleware, HardenError, type Middleware, type Principal } from '@mcp-harden/core';

/**
 * Development principals, keyed by the value of the `x-dev-principal` header.
 *
 * @example
 * ```ts
 * devPrincipal({ principals: { ...DEV_PRINCIPALS, 'acme-admin': myAdmin } });
 * ```
 */
export const DEV_PRINCIPALS: Readonly<Record<string, Principal>> = Object.freeze({
  'acme-reader': dev('ana', 'acme', ['orders:read']),
  'acme-writer': dev('alex', 'acme', ['orders:read', 'orders:write']),
  'acme-guest': dev('gus', 'acme', []),
  'globex-reader': dev('gina', 'globex', ['orders:read']),
  'globex-writer': dev('greg', 'globex', ['orders:read', 'orders:write']),
  // Holds every scope but belongs to no tenant: the tenant rules refuse it.
  'no-tenant-writer': dev('nora', undefined, ['orders:read', 'orders:write']),
});

function dev(subject: string, tenant: string | undefined, scopes: string[]): Principal {
  return Object.freeze({
    subject,
    clientId: 'dev',
    scopes: Object.freeze(scopes),
    roles: Object.freeze([]),
    ...(tenant === undefined ? {} : { tenant }),
    authMethod: 'dev-header',
    claims: Object.freeze({}),
  });
}

/** Options of {@link devPrincipal}. */
export interface DevPrincipalOptions {
  /** Principals by header value; defaults to {@link DEV_PRINCIPALS}. */
  principals?: Readonly<Record<string, Principal>>;
  /** Header naming the principal; defaults to `x-dev-principal`. */
  header?: string;
  /** Environment checked for `NODE_ENV`; defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * DEVELOPMENT ONLY. Sets `ctx.principal` from a fixed map, chosen by the `x-dev-principal`
 * request header, so the example runs without an identity provider. There is no credential:
 * anyone who can reach the port can pick any principal. It throws `TypeError` when
 * `NODE_ENV=production`; use `bearerAuth` from `@mcp-harden/auth` there. A missing or unknown
 * header value is refused with `ERR_UNAUTHENTICATED`.
 *
 * @example
 * ```ts
 * const hardened = createOrdersServer({ db, authenticate: [devPrincipal()] });
 * // client: new StreamableHTTPClientTransport(url, { requestInit: { headers: { 'x-dev-principal': 'acme-reader' } } })
 * ```
 */
export function devPrincipal(options: DevPrincipalOptions = {}): Middleware {
  const env = options.env ?? process.env;
  if (env.NODE_ENV === 'production') {
    throw new TypeError('devPrincipal: refusing to run with NODE_ENV=production; use real authentication');
  }
  const principals = options.principals ?? DEV_PRINCIPALS;
  const header = (options.header ?? 'x-dev-principal').toLowerCase();
  if (typeof principals !== 'object' || principals === null || Object.keys(principals).length === 0) {
    throw new TypeError('devPrincipal: principals must be a non-empty object');
  }
  return defineMiddleware('dev-principal', async function devPrincipalMiddleware(ctx, next) {
    const raw = ctx.request.headers?.[header];
    const key = Array.isArray(raw) ? raw[0] : raw;
    // Own properties only: `__proto__` or `constructor` must not resolve to anything.
    const principal = typeof key === 'string' && Object.hasOwn(principals, key) ? principals[key] : undefined;
    if (principal === undefined) throw new HardenError('ERR_UNAUTHENTICATED');
    ctx.principal = principal;
    return next();
  });
}

const current = new AsyncLocalStorage<Principal>();

/**
 * Makes the principal the pipeline authorized available to tool handlers through
 * {@link currentPrincipal}. Place it last in the chain, after authentication and rbac, so a
 * handler sees exactly the principal that was authorized for this call.
 *
 * @example
 * ```ts
 * harden(server, { use: [devPrincipal(), rbac(rules), bindPrincipal()] });
 * ```
 */
export function bindPrincipal(): Middleware {
  return defineMiddleware('bind-principal', async function bindPrincipalMiddleware(ctx, next) {
    if (ctx.principal === undefined) throw new HardenError('ERR_UNAUTHENTICATED');
    return current.run(ctx.principal, next);
  });
}

/**
 * The principal of the call being handled. Throws `ERR_UNAUTHENTICATED` outside a call bound by
 * {@link bindPrincipal} (fail closed: a handler never runs queries without a tenant).
 *
 * @example
 * ```ts
 * const { tenant } = currentPrincipal();
 * ```
 */
export function currentPrincipal(): Principal {
  const principal = current.getStore();
  if (principal === undefined) throw new HardenError('ERR_UNAUTHENTICATED');
  return principal;
}
