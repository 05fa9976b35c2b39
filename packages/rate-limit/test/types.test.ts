import type { HardenState, Middleware, TargetPolicy } from '@mcp-harden/core';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type Limit,
  type RateLimitMiddleware,
  type RateLimitOptions,
  type RateLimitState,
  type RateLimitStats,
  rateLimit,
  type TargetRateLimit,
} from '../src/index.js';

describe('types', () => {
  it('declares ctx.state.rateLimit on HardenState', () => {
    expectTypeOf<HardenState['rateLimit']>().toEqualTypeOf<RateLimitState | undefined>();
    expectTypeOf<RateLimitState>().toMatchTypeOf<{
      level: string;
      refused: boolean;
      remainingPoints?: number;
      retryAfterMs?: number;
    }>();
  });

  it('declares rateLimit on TargetPolicy for withPolicy()', () => {
    expectTypeOf<TargetPolicy['rateLimit']>().toEqualTypeOf<TargetRateLimit | undefined>();
    expectTypeOf<{
      rateLimit: { cost: 10; limit: { points: 5; duration: 60 } };
    }>().toMatchTypeOf<TargetPolicy>();
    expectTypeOf<TargetRateLimit['limit']>().toEqualTypeOf<Limit | undefined>();
  });

  it('returns a Middleware with stats()', () => {
    expectTypeOf(rateLimit).parameter(0).toEqualTypeOf<RateLimitOptions>();
    expectTypeOf(rateLimit).returns.toEqualTypeOf<RateLimitMiddleware>();
    expectTypeOf<RateLimitMiddleware>().toMatchTypeOf<Middleware>();
    expectTypeOf<ReturnType<RateLimitMiddleware['stats']>>().toEqualTypeOf<RateLimitStats>();
  });

  it('rejects unknown levels and store modes at compile time', () => {
    const good: RateLimitOptions = { limits: { principalTool: { points: 1, duration: 1 } } };
    // @ts-expect-error: 'user' is not a level
    const bad: RateLimitOptions = { limits: { user: { points: 1, duration: 1 } } };
    // @ts-expect-error: 'tenant' has no concurrency cap
    const badCap: RateLimitOptions = { concurrency: { tenant: 1 } };
    expectTypeOf(good).toEqualTypeOf(bad);
    expectTypeOf(badCap).toEqualTypeOf<RateLimitOptions>();
    expectTypeOf<'insurance' | 'fail-open' | 'fail-closed'>().toEqualTypeOf<
      NonNullable<RateLimitOptions['onStoreError']>
    >();
  });
});
