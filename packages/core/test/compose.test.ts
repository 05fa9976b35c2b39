import { describe, expect, it } from 'vitest';
import {
  closeAll,
  compose,
  createContext,
  defineMiddleware,
  HardenError,
  type Middleware,
  reportEarlyRefusal,
} from '../src/index.js';

const ctx = () => createContext({ method: 'tools/call', params: { name: 'echo', arguments: { a: 1 } } });
const terminal = async () => ({ content: [{ type: 'text', text: 'handler' }] });

describe('compose', () => {
  it('runs middleware outermost first and unwinds in reverse', async () => {
    const order: string[] = [];
    const mw =
      (name: string): Middleware =>
      async (_ctx, next) => {
        order.push(`${name}>`);
        const result = await next();
        order.push(`<${name}`);
        return result;
      };
    await compose([mw('a'), mw('b'), mw('c')])(ctx(), async () => {
      order.push('handler');
      return {};
    });
    expect(order).toEqual(['a>', 'b>', 'c>', 'handler', '<c', '<b', '<a']);
  });

  it('rejects a second call of next() with ERR_MIDDLEWARE', async () => {
    let calls = 0;
    const twice: Middleware = async (_ctx, next) => {
      await next();
      return next();
    };
    const error = await compose([twice])(ctx(), async () => {
      calls++;
      return {};
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HardenError);
    expect((error as HardenError).code).toBe('ERR_MIDDLEWARE');
    expect(calls).toBe(1);
  });

  it('lets a middleware short-circuit without calling the handler', async () => {
    let reached = false;
    const cached: Middleware = async () => ({ content: [] });
    const result = await compose([cached])(ctx(), async () => {
      reached = true;
      return {};
    });
    expect(result).toEqual({ content: [] });
    expect(reached).toBe(false);
  });

  it('names the middleware that refused in HardenError.source', async () => {
    const outer = defineMiddleware('outer', async (_ctx, next) => next());
    const refuse = defineMiddleware('limits', async () => {
      throw new HardenError('ERR_RATE_LIMITED');
    });
    const error = await compose([outer, refuse])(ctx(), terminal).catch((e: unknown) => e);
    expect((error as HardenError).source).toBe('limits');
  });

  it('turns a synchronous throw into a rejection', async () => {
    const sync = (() => {
      throw new HardenError('ERR_FORBIDDEN');
    }) as unknown as Middleware;
    await expect(compose([sync])(ctx(), terminal)).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
  });

  it('refuses a chain that is not made of functions at construction', () => {
    expect(() => compose([42 as unknown as Middleware])).toThrow(TypeError);
    expect(() => compose('nope' as unknown as Middleware[])).toThrow(TypeError);
  });

  it('shares one context: a middleware can rewrite arguments and results', async () => {
    const rewrite: Middleware = async (c, next) => {
      c.arguments = { a: 2 };
      const result = await next();
      return { ...result, rewritten: true };
    };
    const c = ctx();
    const result = await compose([rewrite])(c, async () => ({ seen: c.arguments }));
    expect(result).toEqual({ seen: { a: 2 }, rewritten: true });
  });
});

describe('closeAll', () => {
  it('closes every middleware innermost first, even when one fails', async () => {
    const closed: string[] = [];
    const a = defineMiddleware('a', async (_c, n) => n(), { close: async () => void closed.push('a') });
    const b = defineMiddleware('b', async (_c, n) => n(), {
      close: async () => {
        closed.push('b');
        throw new Error('disk full');
      },
    });
    const c = defineMiddleware('c', async (_c, n) => n(), { close: async () => void closed.push('c') });
    await expect(closeAll([a, b, c])).rejects.toBeInstanceOf(AggregateError);
    expect(closed).toEqual(['c', 'b', 'a']);
  });
});

describe('reportEarlyRefusal', () => {
  it('tells every observer, even when one throws', () => {
    const seen: string[] = [];
    const refusal = {
      error: new HardenError('ERR_UNAUTHENTICATED'),
      source: 'http',
      method: undefined,
      requestId: undefined,
      sessionId: undefined,
      request: { transport: 'http' },
    };
    const a = defineMiddleware('a', async (_c, n) => n(), {
      onEarlyRefusal: () => {
        throw new Error('broken observer');
      },
    });
    const b = defineMiddleware('b', async (_c, n) => n(), {
      onEarlyRefusal: (r) => void seen.push(`${r.source}:${r.error.code}`),
    });
    const plain: Middleware = async (_c, n) => n();
    reportEarlyRefusal([a, plain, b], refusal);
    expect(seen).toEqual(['http:ERR_UNAUTHENTICATED']);
  });
});
