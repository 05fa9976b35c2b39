import type { HardenContext, HardenState, Middleware } from '@mcp-harden/core';
import { describe, expectTypeOf, it } from 'vitest';
import { type SurfaceDiff, versioning } from '../src/index.js';

describe('versioning types', () => {
  it('declares ctx.state.deprecation on HardenState', () => {
    expectTypeOf<HardenState['deprecation']>().toEqualTypeOf<
      { tool: string; version: string; sunset?: string; replacement?: string } | undefined
    >();
    expectTypeOf<HardenContext['state']['deprecation']>().toEqualTypeOf<HardenState['deprecation']>();
  });

  it('builds a Middleware and a typed diff', () => {
    expectTypeOf(versioning).returns.toExtend<Middleware>();
    expectTypeOf<SurfaceDiff['counts']>().toEqualTypeOf<
      Record<'breaking' | 'risky' | 'compatible', number>
    >();
  });
});
