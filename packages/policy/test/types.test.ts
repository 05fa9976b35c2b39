import type { AuditMiddleware } from '@mcp-harden/audit';
import type { Authenticator, RequestLike } from '@mcp-harden/auth';
import type { Middleware, Principal, TargetPolicy } from '@mcp-harden/core';
import type { HardenOptions, PolicyMap as SdkPolicyMap } from '@mcp-harden/sdk';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type Explanation,
  explain,
  fromPolicy,
  type LoadedPolicy,
  type PolicyCommand,
  type PolicyDocument,
  type PolicyPipeline,
  parsePolicy,
  validateCommand,
} from '../src/index.js';

describe('types', () => {
  it('fromPolicy returns what harden() takes', () => {
    expectTypeOf(fromPolicy<Authenticator>).returns.toEqualTypeOf<PolicyPipeline>();
    expectTypeOf<PolicyPipeline>().toMatchTypeOf<HardenOptions>();
    expectTypeOf<PolicyPipeline['policies']>().toMatchTypeOf<SdkPolicyMap>();
    expectTypeOf<PolicyPipeline['use']>().toEqualTypeOf<Middleware[]>();
  });

  it('parts.authentication is an Authenticator usable at the HTTP edge; a custom one keeps its type', () => {
    expectTypeOf<PolicyPipeline['parts']['authentication']>().toEqualTypeOf<Authenticator | undefined>();
    expectTypeOf<
      NonNullable<PolicyPipeline['parts']['authentication']>['authenticateRequest']
    >().toEqualTypeOf<(request: RequestLike) => Promise<Principal | undefined>>();
    type Custom = Middleware & { custom: true };
    expectTypeOf(fromPolicy<Custom>).returns.toEqualTypeOf<PolicyPipeline<Custom>>();
    expectTypeOf<PolicyPipeline<Custom>['parts']['authentication']>().toEqualTypeOf<Custom | undefined>();
    expectTypeOf<PolicyPipeline['parts']['audit']>().toEqualTypeOf<AuditMiddleware | undefined>();
  });

  it('per-target policies use the keys the packages merged into TargetPolicy', () => {
    expectTypeOf<NonNullable<PolicyPipeline['policies']['tools']>[string]>().toEqualTypeOf<TargetPolicy>();
    expectTypeOf<TargetPolicy['rateLimit']>().toMatchTypeOf<
      { cost?: number; limit?: { points: number; duration: number }; concurrency?: number } | undefined
    >();
    expectTypeOf<TargetPolicy>().toHaveProperty('rule');
    expectTypeOf<TargetPolicy>().toHaveProperty('sanitize');
  });

  it('parsePolicy and explain are typed end to end', () => {
    expectTypeOf(parsePolicy).returns.toEqualTypeOf<LoadedPolicy>();
    expectTypeOf<LoadedPolicy['document']>().toEqualTypeOf<PolicyDocument>();
    expectTypeOf<PolicyDocument['server']>().toEqualTypeOf<{
      name: string;
      version: string;
      owner: string;
    }>();
    expectTypeOf(explain).returns.resolves.toEqualTypeOf<Explanation>();
    expectTypeOf(validateCommand).toEqualTypeOf<PolicyCommand>();
  });
});
