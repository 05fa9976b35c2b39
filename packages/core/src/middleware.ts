import type { HardenContext, RequestInfo } from './context.js';
import { HardenError, isHardenError } from './errors.js';
import type { McpResult } from './protocol.js';

/** Calls the rest of the chain and resolves with its result. Call it at most once. */
export type Next = () => Promise<McpResult>;

/** A readiness check contributed by a middleware (Redis reachable, JWKS fetched, ...). */
export interface HealthCheck {
  /** Short, stable name shown in `/ready`. */
  readonly name: string;
  /** Resolves when healthy, rejects (or times out via `signal`) when not. */
  check(signal: AbortSignal): Promise<void>;
}

/**
 * A request refused before the middleware chain could run: at the HTTP edge (authentication, body
 * size, concurrency) or by the adapter's own params check. Hosts report it to every middleware
 * with {@link reportEarlyRefusal}, so audit and telemetry miss no refusal.
 */
export interface EarlyRefusal {
  readonly error: HardenError;
  /** Who refused: `http` (the HTTP host) or `sdk` (the adapter). */
  readonly source: string;
  /** JSON-RPC method, when the request was read that far. */
  readonly method: string | undefined;
  readonly requestId: string | number | undefined;
  readonly sessionId: string | undefined;
  readonly request: RequestInfo;
}

/**
 * The one middleware shape, in the onion model of Koa and Hono: read or extend `ctx`, refuse
 * by throwing a {@link HardenError}, call `next()` once, and rewrite what it returned.
 * A middleware may carry a name, a `close()` for graceful shutdown and readiness checks.
 *
 * @example
 * ```ts
 * import type { Middleware } from '@mcp-harden/core';
 * const timing: Middleware = async (ctx, next) => {
 *   const result = await next();
 *   console.log(ctx.method, ctx.target, performance.now() - ctx.startedAt);
 *   return result;
 * };
 * ```
 */
export interface Middleware {
  (ctx: HardenContext, next: Next): Promise<McpResult>;
  /** Name used in error reports (`HardenError.source`) and audit decisions. */
  readonly middlewareName?: string;
  /** Flushes and releases what the middleware holds; called once on shutdown. */
  close?(): Promise<void>;
  /** Checks that `/ready` runs. */
  readonly healthChecks?: readonly HealthCheck[];
  /** Told about requests refused before the chain ran (see {@link EarlyRefusal}). Must not throw. */
  onEarlyRefusal?(refusal: EarlyRefusal): void;
}

/** Lifecycle parts of a middleware; see {@link defineMiddleware}. */
export interface MiddlewareHooks {
  close?(): Promise<void>;
  healthChecks?: readonly HealthCheck[];
  onEarlyRefusal?(refusal: EarlyRefusal): void;
}

/**
 * Names a middleware function and attaches its lifecycle hooks.
 *
 * @example
 * ```ts
 * import { defineMiddleware } from '@mcp-harden/core';
 * export const logCalls = defineMiddleware('log', async function log(ctx, next) {
 *   console.error(ctx.method, ctx.target);
 *   return next();
 * });
 * ```
 */
export function defineMiddleware(
  name: string,
  fn: (ctx: HardenContext, next: Next) => Promise<McpResult>,
  hooks: MiddlewareHooks = {},
): Middleware {
  if (typeof fn !== 'function') throw new TypeError('defineMiddleware: fn must be a function');
  return Object.assign(fn, { middlewareName: name }, hooks);
}

/** A composed chain; `terminal` is the wrapped server. */
export type ComposedMiddleware = (ctx: HardenContext, terminal: Next) => Promise<McpResult>;

/**
 * Composes middleware into one chain, outermost first. `next()` called twice in one
 * middleware rejects with `ERR_MIDDLEWARE`; a {@link HardenError} leaving a named middleware
 * gets `source` set to that name.
 *
 * @example
 * ```ts
 * import { compose, createContext } from '@mcp-harden/core';
 * const chain = compose([logCalls, requireAuth]);
 * const result = await chain(createContext({ method: 'tools/list' }), async () => ({ tools: [] }));
 * ```
 */
export function compose(middleware: readonly Middleware[]): ComposedMiddleware {
  if (!Array.isArray(middleware)) throw new TypeError('compose: middleware must be an array');
  middleware.forEach((fn, i) => {
    if (typeof fn !== 'function') throw new TypeError(`compose: middleware at index ${i} is not a function`);
  });
  const chain = [...middleware];
  return function composed(ctx, terminal) {
    let reached = -1;
    const dispatch = (i: number): Promise<McpResult> => {
      if (i <= reached) {
        return Promise.reject(new HardenError('ERR_MIDDLEWARE', 'next() called more than once'));
      }
      reached = i;
      if (i === chain.length) return terminal();
      const fn = chain[i]!;
      let out: Promise<McpResult>;
      try {
        out = fn(ctx, () => dispatch(i + 1));
      } catch (err) {
        out = Promise.reject(err);
      }
      if (fn.middlewareName === undefined) return out;
      return out.catch((err: unknown) => {
        if (isHardenError(err) && err.source === undefined) err.source = fn.middlewareName;
        throw err;
      });
    };
    return dispatch(0);
  };
}

/**
 * Closes every middleware that has a `close()`, innermost first, and waits for all of them
 * even when some fail; rejects with an `AggregateError` when any failed.
 *
 * @example
 * ```ts
 * process.on('SIGTERM', () => void closeAll(middleware));
 * ```
 */
export async function closeAll(middleware: readonly Middleware[]): Promise<void> {
  const results = await Promise.allSettled(
    [...middleware].reverse().map((m) => (m.close ? m.close() : Promise.resolve())),
  );
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((f) => f.reason),
      'closing middleware failed',
    );
  }
}

/**
 * Tells every middleware that has `onEarlyRefusal` about a request refused before the chain ran.
 * A failing observer never stops the others or the refusal itself.
 *
 * @example
 * ```ts
 * reportEarlyRefusal(hardened.middleware, {
 *   error: new HardenError('ERR_UNAUTHENTICATED'),
 *   source: 'http',
 *   method: undefined,
 *   requestId: undefined,
 *   sessionId: undefined,
 *   request: { transport: 'http', headers: req.headers },
 * });
 * ```
 */
export function reportEarlyRefusal(middleware: Iterable<Middleware>, refusal: EarlyRefusal): void {
  for (const m of middleware) {
    if (!m.onEarlyRefusal) continue;
    try {
      m.onEarlyRefusal(refusal);
    } catch {
      // observers are best effort: the refusal stands either way
    }
  }
}
