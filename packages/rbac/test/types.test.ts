import type { HardenContext, HardenState, TargetPolicy } from '@mcp-harden/core';
import { describe, expectTypeOf, it } from 'vitest';
import type { AuthorizationDecision, Rule, RuleData, RuleLike } from '../src/index.js';
import { allowAll, rbac, requireScopes, ruleFromData } from '../src/index.js';

describe('types', () => {
  it('declares ctx.state.authorization on HardenState', () => {
    expectTypeOf<HardenState['authorization']>().toEqualTypeOf<AuthorizationDecision | undefined>();
    expectTypeOf<HardenContext['state']['authorization']>().toEqualTypeOf<
      AuthorizationDecision | undefined
    >();
    expectTypeOf<AuthorizationDecision>().toEqualTypeOf<{
      allowed: boolean;
      rule: string;
      reason?: string;
      requiredScopes?: string[];
    }>();
  });

  it('declares rule on TargetPolicy, taking a Rule or rule data', () => {
    expectTypeOf<TargetPolicy['rule']>().toEqualTypeOf<RuleLike | undefined>();
    expectTypeOf({ rule: requireScopes('a') }).toExtend<TargetPolicy>();
    expectTypeOf({ rule: { scopes: ['a'], tenant: 'own' as const } }).toExtend<TargetPolicy>();
    expectTypeOf({ rule: { scope: ['a'] } }).not.toExtend<TargetPolicy>();
  });

  it('types the factory and the converters', () => {
    expectTypeOf(rbac).returns.toHaveProperty('middlewareName');
    expectTypeOf(ruleFromData).parameter(0).toEqualTypeOf<RuleLike>();
    expectTypeOf(ruleFromData).returns.toEqualTypeOf<Rule>();
    expectTypeOf(allowAll).toExtend<Rule>();
    expectTypeOf<'allow'>().toExtend<RuleData>();
  });
});
