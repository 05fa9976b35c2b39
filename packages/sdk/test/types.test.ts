import type { HardenContext, Middleware } from '@mcp-harden/core';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { harden } from '../src/index.js';

declare module '@mcp-harden/core' {
  interface HardenState {
    'example.cacheHit'?: boolean;
  }
  interface TargetPolicy {
    exampleCost?: number;
  }
}

describe('sdk types', () => {
  it('sees state and policy keys that users add to @mcp-harden/core', () => {
    const mw: Middleware = async (ctx, next) => {
      expectTypeOf(ctx).toEqualTypeOf<HardenContext>();
      expectTypeOf(ctx.state['example.cacheHit']).toEqualTypeOf<boolean | undefined>();
      expectTypeOf(ctx.policy?.exampleCost).toEqualTypeOf<number | undefined>();
      return next();
    };
    const hardened = harden(new McpServer({ name: 't', version: '1' }), { use: [mw] });
    expectTypeOf(hardened.server).toEqualTypeOf<McpServer>();
  });

  it('keeps the SDK registration signature when a policy is attached', () => {
    const hardened = harden(new McpServer({ name: 't', version: '1' }), { use: [] });
    hardened
      .withPolicy({ exampleCost: 3 })
      .registerTool('add', { inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => {
        expectTypeOf(a).toEqualTypeOf<number>();
        return { content: [{ type: 'text', text: String(a + b) }] };
      });
    // @ts-expect-error unknown policy keys are refused
    hardened.withPolicy({ notAPolicyKey: true });
  });
});
