import { defineMiddleware, HardenError, type Middleware } from '@mcp-harden/core';

declare module '@mcp-harden/core' {
  interface TargetPolicy {
    /** Per-call time limit in milliseconds for this tool, prompt or resource (`@mcp-harden/http` `timeout()`). */
    timeoutMs?: number;
  }
}

/** Options of {@link timeout}. */
export interface TimeoutOptions {
  /** Limit for calls whose target declares no `timeoutMs`. Required: there is no silent default. */
  defaultMs: number;
  /** Upper bound for any declared `timeoutMs`; defaults to `defaultMs * 10`. */
  maxMs?: number;
  /** Methods the limit applies to; defaults to `tools/call`, `resources/read`, `prompts/get`. */
  methods?: readonly string[];
}

const DEFAULT_METHODS = ['tools/call', 'resources/read', 'prompts/get'];

function checkMs(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 2_147_483_647) {
    throw new TypeError(`timeout: ${name} must be a positive number of milliseconds`);
  }
  return value;
}

/**
 * Bounds each call by `ctx.policy.timeoutMs` (or `defaultMs`). When the limit passes, the
 * client gets `ERR_TIMEOUT` at once; hosts of `@mcp-harden/http` then send the server a
 * `notifications/cancelled` for the call, so the handler's `extra.signal` aborts (over other
 * transports the handler keeps running and its late answer is dropped).
 *
 * @example
 * ```ts
 * import { timeout } from '@mcp-harden/http';
 * const hardened = harden(server, { use: [timeout({ defaultMs: 10_000 })] });
 * hardened.withPolicy({ timeoutMs: 60_000 }).registerTool('report', {}, handler);
 * ```
 */
export function timeout(options: TimeoutOptions): Middleware {
  if (!options || typeof options !== 'object') throw new TypeError('timeout: options are required');
  const defaultMs = checkMs('defaultMs', options.defaultMs);
  const maxMs = options.maxMs === undefined ? defaultMs * 10 : checkMs('maxMs', options.maxMs);
  const methods = new Set(options.methods ?? DEFAULT_METHODS);
  return defineMiddleware('timeout', async function timeoutCall(ctx, next) {
    if (!methods.has(ctx.method)) return next();
    const declared = ctx.policy?.timeoutMs;
    const limit = Math.min(typeof declared === 'number' && declared > 0 ? declared : defaultMs, maxMs);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new HardenError('ERR_TIMEOUT', 'The call did not finish in time', { data: { timeoutMs: limit } }),
          ),
        limit,
      );
    });
    try {
      return await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  });
}
