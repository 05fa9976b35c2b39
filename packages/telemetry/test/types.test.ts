import type { HardenContext, HardenState, Middleware } from '@mcp-harden/core';
import { describe, expectTypeOf, it } from 'vitest';
import { type SessionTimer, type TelemetryMiddleware, telemetry } from '../src/index.js';

describe('telemetry types', () => {
  it('declares ctx.state.trace on HardenState', () => {
    expectTypeOf<HardenState['trace']>().toEqualTypeOf<{ traceId: string; spanId: string } | undefined>();
    expectTypeOf<HardenContext['state']['trace']>().toEqualTypeOf<
      { traceId: string; spanId: string } | undefined
    >();
  });

  it('returns a Middleware with session helpers', () => {
    expectTypeOf(telemetry).returns.toEqualTypeOf<TelemetryMiddleware>();
    expectTypeOf<TelemetryMiddleware>().toMatchTypeOf<Middleware>();
    expectTypeOf<TelemetryMiddleware['startSession']>().returns.toEqualTypeOf<SessionTimer>();
    expectTypeOf<TelemetryMiddleware['recordSessionEnd']>().parameter(0).toEqualTypeOf<number>();
  });
});
