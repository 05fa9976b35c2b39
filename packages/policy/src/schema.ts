import { z } from 'zod';

/** `${env:NAME}` or `${file:/absolute/path}`: the only way a secret may appear in a policy file. */
export const SECRET_REFERENCE = /^\$\{(?:env:[A-Za-z_][A-Za-z0-9_]*|file:\/[^}]+)\}$/;

const name = z.string().min(1);
const names = z.array(z.string().min(1).regex(/^\S+$/, 'no spaces')).min(1);
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/** A field that holds a secret: always a reference, never a literal. */
const secretRef = z
  .string()
  .regex(SECRET_REFERENCE, `a secret reference: \${env:NAME} or \${file:/absolute/path}`)
  .describe(
    `Secret reference, resolved at load: \${env:NAME} or \${file:/absolute/path}. Literals are refused.`,
  );

/** A value that may also be given as a reference (deployment-specific, not necessarily secret). */
const reference = z.string().regex(SECRET_REFERENCE);
const orRef = <T extends z.ZodType>(schema: T) => z.union([schema, reference]);

const tenantRule = z.union([
  z.literal('own'),
  z.strictObject({
    argument: name.optional(),
    variable: name.optional(),
    template: name.optional(),
    whenMissing: z.enum(['deny', 'allow']).optional(),
  }),
]);

/** The rbac data form of a rule (`ruleFromData` of `@mcp-harden/rbac`). */
export const ruleSchema: z.ZodType<RuleDataInput> = z.lazy(() =>
  z.union([
    z.literal('allow'),
    z.literal('deny'),
    z.strictObject({
      scopes: names.optional(),
      roles: names.optional(),
      tenant: tenantRule.optional(),
      all: z.array(ruleSchema).min(1).optional(),
      any: z.array(ruleSchema).min(1).optional(),
    }),
  ]),
);

/** Rule data as written in a policy file. */
export type RuleDataInput =
  | 'allow'
  | 'deny'
  | {
      scopes?: string[];
      roles?: string[];
      tenant?:
        | 'own'
        | { argument?: string; variable?: string; template?: string; whenMissing?: 'deny' | 'allow' };
      all?: RuleDataInput[];
      any?: RuleDataInput[];
    };

const limit = z.strictObject({
  points: positiveInt.describe('Points per window'),
  duration: positiveInt.describe('Window length in seconds'),
});

const redactionStrategy = z.enum(['mask', 'partial', 'hash', 'remove']);
const redactionRules = z
  .record(z.string().regex(/^[a-z0-9-]+$/), z.union([z.boolean(), redactionStrategy]))
  .describe('Built-in redaction rules of @mcp-harden/sanitize on/off or with a strategy');

const targetSchema = z.strictObject({
  description: z.string().optional(),
  rule: ruleSchema.optional().describe('Authorization rule (rbac data form); a target without one is denied'),
  rateLimit: z
    .strictObject({
      cost: nonNegativeInt.optional(),
      limit: limit.optional(),
      concurrency: positiveInt.optional(),
    })
    .optional(),
  timeoutMs: positiveInt.max(2_147_483_647).optional(),
  redaction: z
    .strictObject({
      rules: redactionRules.optional(),
      injection: z.enum(['flag', 'fence', 'refuse', 'off']).optional(),
    })
    .optional(),
  strictArguments: z.boolean().optional().describe('Refuse argument keys the input schema does not list'),
  tags: z.array(name).optional(),
  version: z
    .string()
    .regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'a semantic version like 1.2.0')
    .optional(),
  deprecation: z
    .strictObject({
      sunset: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2}))?$/, 'an ISO 8601 date')
        .optional(),
      replacement: name.optional(),
      notice: z.string().optional(),
    })
    .optional(),
});

const claimList = z.union([name, z.array(name).min(1)]);

const bearerSchema = z.strictObject({
  issuer: z.union([orRef(z.url()), z.array(orRef(z.url())).min(1)]),
  audience: z.union([name, z.array(name).min(1)]),
  jwksUrl: orRef(z.url()).optional().describe('Remote JWKS (https, or http on loopback)'),
  keysFile: name.optional().describe('Local JWKS file (public keys), instead of jwksUrl'),
  algorithms: z
    .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
    .min(1),
  claims: z
    .strictObject({
      subject: name.optional(),
      clientId: claimList.optional(),
      scopes: claimList.optional(),
      roles: claimList.optional(),
      tenant: claimList.optional(),
    })
    .optional(),
  requiredClaims: z.array(name).optional(),
  clockTolerance: nonNegativeInt.optional(),
  maxTokenAge: positiveInt.optional(),
  typ: name.optional(),
});

const apiKeySchema = z.strictObject({
  digest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, 'a key digest sha256:<64 lower-case hex> (mcp-harden hashApiKey)'),
  subject: name,
  scopes: z.array(name).optional(),
  roles: z.array(name).optional(),
  tenant: name.optional(),
  clientId: name.optional(),
  expiresAt: positiveInt.optional().describe('Epoch seconds'),
});

const breaker = z.strictObject({
  threshold: positiveInt.describe('Consecutive failures that open the circuit'),
  resetMs: positiveInt.describe('How long the circuit stays open before half-open probes'),
  halfOpenProbes: positiveInt.describe('Calls let through while half-open'),
});

const policyBody = {
  $schema: z.string().optional(),
  version: z.literal(1).describe('Policy file format version'),
  server: z.strictObject({ name, version: name, owner: name }),
  transport: z
    .strictObject({
      type: z.enum(['stdio', 'http']),
      host: name.optional(),
      port: z.number().int().min(0).max(65535).optional(),
      path: z.string().regex(/^\//, 'a path starting with /').optional(),
      allowedHosts: z.array(name).optional(),
      allowedOrigins: z.array(name).optional(),
    })
    .optional(),
  roles: z
    .record(z.string().regex(/^\S+$/), z.strictObject({ description: z.string().optional() }))
    .optional()
    .describe('Every role a rule may name; a rule naming another role is an error'),
  authentication: z
    .strictObject({
      bearer: bearerSchema.optional(),
      apiKeys: z
        .strictObject({
          header: name.optional(),
          keys: z.array(apiKeySchema),
        })
        .optional(),
      allowAnonymous: z.boolean().optional(),
    })
    .optional(),
  authorization: z
    .strictObject({
      default: z.enum(['deny', 'allow']).optional(),
      scopeHierarchy: z.record(name, z.array(name)).optional(),
      revealRequiredScopes: z.boolean().optional(),
    })
    .optional(),
  rateLimit: z
    .strictObject({
      limits: z
        .strictObject({
          session: limit.optional(),
          principalTool: limit.optional(),
          principal: limit.optional(),
          tenant: limit.optional(),
          global: limit.optional(),
        })
        .optional(),
      concurrency: z
        .strictObject({
          global: positiveInt.optional(),
          principal: positiveInt.optional(),
          tool: positiveInt.optional(),
        })
        .optional(),
      defaultCost: nonNegativeInt.optional(),
    })
    .optional(),
  redaction: z
    .strictObject({
      rules: redactionRules.optional(),
      strategy: redactionStrategy.optional(),
      hashKey: secretRef.optional(),
      injection: z.enum(['flag', 'fence', 'refuse', 'off']).optional(),
      maxOutputBytes: positiveInt.optional(),
      limits: z
        .strictObject({
          maxBytes: positiveInt.optional(),
          maxDepth: positiveInt.optional(),
          maxArrayLength: positiveInt.optional(),
          maxStringLength: positiveInt.optional(),
          maxKeys: positiveInt.optional(),
        })
        .optional(),
    })
    .optional(),
  timeouts: z.strictObject({ defaultMs: positiveInt, maxMs: positiveInt.optional() }).optional(),
  tools: z.record(name, targetSchema).optional(),
  resources: z.record(name, targetSchema).optional().describe('Keys are exact URIs or URI templates'),
  prompts: z.record(name, targetSchema).optional(),
  telemetry: z
    .strictObject({
      enabled: z.boolean(),
      recordResourceUri: z.boolean().optional(),
      metricTargetLimit: positiveInt.optional(),
    })
    .optional(),
  audit: z
    .strictObject({
      sinks: z
        .array(
          z.discriminatedUnion('type', [
            z.strictObject({
              type: z.literal('stdout'),
              name: name.optional(),
              stream: z.enum(['stdout', 'stderr']).optional(),
            }),
            z.strictObject({
              type: z.literal('file'),
              path: name,
              name: name.optional(),
              fsync: z.boolean().optional(),
              rotateMaxBytes: positiveInt.optional(),
            }),
          ]),
        )
        .min(1),
      spillDir: name,
      includeArguments: z.union([z.literal(false), z.literal('redacted')]).optional(),
      argumentsDigestKey: secretRef.optional(),
    })
    .optional(),
  circuitBreakers: z
    .strictObject({
      default: breaker.optional(),
      downstreams: z.record(name, breaker).optional(),
    })
    .optional()
    .describe(
      'Circuit-breaker settings for downstream calls (threshold 5, resetMs 30000, 1 probe are typical)',
    ),
};

const policyCore = z.strictObject(policyBody);

/**
 * The zod schema of a policy file. Strict: unknown keys are refused at every level.
 *
 * @example
 * ```ts
 * import { policySchema } from '@mcp-harden/policy';
 * policySchema.safeParse({ version: 1, server: { name: 'notes', version: '1.0.0', owner: 'team-notes' } }).success; // true
 * ```
 */
export const policySchema = z.strictObject({
  ...policyBody,
  environments: z
    .record(z.string().regex(/^[a-z][a-z0-9-]*$/), z.record(z.string(), z.unknown()))
    .optional()
    .describe('Overrides merged over the base per environment (objects merged, arrays replaced)'),
});

/** The same schema without `environments`: what a merged (effective) policy must satisfy. */
export const effectivePolicySchema = policyCore;

/**
 * A policy as written in a file (after validation).
 *
 * @example
 * ```ts
 * const policy: PolicyDocument = { version: 1, server: { name: 'notes', version: '1.0.0', owner: 'team' } };
 * ```
 */
export type PolicyDocument = z.infer<typeof policySchema>;

/** One tool, resource or prompt entry of a policy. */
export type PolicyTarget = z.infer<typeof targetSchema>;

/**
 * The JSON Schema of the policy file (draft 2020-12), generated from {@link policySchema}.
 * `schema/policy.schema.json` in the package is this value; a test keeps them equal.
 *
 * @example
 * ```ts
 * import { policyJsonSchema } from '@mcp-harden/policy';
 * writeFileSync('policy.schema.json', JSON.stringify(policyJsonSchema(), null, 2));
 * ```
 */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(policySchema, { target: 'draft-2020-12', io: 'input' }) as Record<
    string,
    unknown
  >;
  return {
    $id: 'https://mcp-harden.dev/schema/policy.schema.json',
    title: 'mcp-harden policy file',
    ...schema,
  };
}
