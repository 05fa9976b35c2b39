import type { HardenState, Middleware, TargetPolicy } from '@mcp-harden/core';
import { describe, expectTypeOf, it } from 'vitest';
import {
  guardInput,
  type InjectionState,
  redactOutput,
  type SanitizePolicy,
  sanitize,
} from '../src/index.js';

describe('types', () => {
  it('declares redactions and injection on HardenState and sanitize on TargetPolicy', () => {
    expectTypeOf<HardenState['redactions']>().toEqualTypeOf<Record<string, number> | undefined>();
    expectTypeOf<HardenState['injection']>().toEqualTypeOf<InjectionState | undefined>();
    expectTypeOf<TargetPolicy['sanitize']>().toEqualTypeOf<SanitizePolicy | undefined>();
  });

  it('factories return core Middleware', () => {
    expectTypeOf(sanitize).returns.toEqualTypeOf<Middleware>();
    expectTypeOf(guardInput).returns.toEqualTypeOf<Middleware>();
    expectTypeOf(redactOutput).returns.toEqualTypeOf<Middleware>();
  });
});
