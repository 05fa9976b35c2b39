import { createContext, type HardenState, type Middleware, type TargetPolicy } from '@mcp-harden/core';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type AuditEvent,
  type AuditMiddleware,
  type AuditSink,
  audit,
  type ChainReport,
  verifyChain,
} from '../src/index.js';

describe('types', () => {
  it('declares ctx.state.audit and TargetPolicy.audit on @mcp-harden/core', () => {
    expectTypeOf<HardenState['audit']>().toEqualTypeOf<{ eventId: string } | undefined>();
    expectTypeOf<NonNullable<TargetPolicy['audit']>['includeArguments']>().toEqualTypeOf<
      false | 'redacted' | undefined
    >();
    const ctx = createContext({ method: 'tools/list' });
    expectTypeOf(ctx.state.audit?.eventId).toEqualTypeOf<string | undefined>();
  });

  it('returns a Middleware with delivery controls', () => {
    expectTypeOf(audit).returns.toEqualTypeOf<AuditMiddleware>();
    expectTypeOf<AuditMiddleware>().toExtend<Middleware>();
    expectTypeOf<AuditMiddleware['flush']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(verifyChain).returns.toEqualTypeOf<Promise<ChainReport>>();
    expectTypeOf<AuditSink['write']>().parameter(0).toEqualTypeOf<readonly AuditEvent[]>();
    expectTypeOf<AuditEvent['decision']['result']>().toEqualTypeOf<'allowed' | 'denied'>();
  });
});
