import { describe, expectTypeOf, it } from 'vitest';
import {
  createContext,
  defineMiddleware,
  type HardenContext,
  type HardenErrorCode,
  type McpResult,
  type Middleware,
  type TargetPolicy,
} from '../src/index.js';

declare module '../src/index.js' {
  interface HardenState {
    requestCost?: number;
    tenantPlan?: { name: 'free' | 'pro' };
  }
  interface TargetPolicy {
    costPoints?: number;
  }
}

describe('context types', () => {
  it('extends the state bag by declaration merging', () => {
    const ctx = createContext({ method: 'tools/list' });
    expectTypeOf(ctx.state.requestCost).toEqualTypeOf<number | undefined>();
    expectTypeOf(ctx.state.tenantPlan).toEqualTypeOf<{ name: 'free' | 'pro' } | undefined>();
    // @ts-expect-error undeclared keys are not part of the state
    ctx.state.notDeclared = 1;
  });

  it('extends the target policy by declaration merging', () => {
    expectTypeOf<TargetPolicy['costPoints']>().toEqualTypeOf<number | undefined>();
    const ctx = createContext({ method: 'tools/call', params: { name: 'x' }, policy: { costPoints: 3 } });
    expectTypeOf(ctx.policy).toEqualTypeOf<TargetPolicy | undefined>();
  });

  it('types middleware and its context without any', () => {
    const mw = defineMiddleware('typed', async (ctx, next) => {
      expectTypeOf(ctx).toEqualTypeOf<HardenContext>();
      expectTypeOf(next).returns.toEqualTypeOf<Promise<McpResult>>();
      ctx.state.requestCost = 2;
      return next();
    });
    expectTypeOf(mw).toExtend<Middleware>();
    expectTypeOf<'ERR_RATE_LIMITED'>().toExtend<HardenErrorCode>();
    // @ts-expect-error codes are a closed union
    expectTypeOf<'ERR_MADE_UP'>().toExtend<HardenErrorCode>();
  });
});
