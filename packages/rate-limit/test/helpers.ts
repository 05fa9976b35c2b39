import {
  type ContextInit,
  compose,
  createContext,
  type HardenContext,
  HardenError,
  type McpResult,
  type Middleware,
  type Principal,
} from '@mcp-harden/core';

export function principal(subject: string, extra: Partial<Principal> = {}): Principal {
  return { subject, scopes: [], roles: [], claims: {}, ...extra };
}

/** A tools/call context for `tool`, as the adapter would build it. */
export function call(tool: string, init: Partial<ContextInit> = {}): HardenContext {
  return createContext({ method: 'tools/call', params: { name: tool, arguments: {} }, ...init });
}

const ok = async (): Promise<McpResult> => ({ content: [{ type: 'text', text: 'ok' }] });

/** Runs one request through `use`; resolves with the refusal code or 'ok'. */
export async function run(use: Middleware[], ctx: HardenContext, terminal = ok): Promise<string> {
  try {
    await compose(use)(ctx, terminal);
    return 'ok';
  } catch (err) {
    if (err instanceof HardenError) return err.code;
    throw err;
  }
}

/** Runs `n` sequential requests built by `make`; counts outcomes. */
export async function runMany(
  use: Middleware[],
  n: number,
  make: (i: number) => HardenContext,
): Promise<Record<string, number>> {
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const outcome = await run(use, make(i));
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  return outcomes;
}

/** Catches what a promise rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
