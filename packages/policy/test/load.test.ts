import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  fromPolicy,
  loadPolicy,
  PolicyError,
  type PolicyIssue,
  parsePolicy,
  policyJsonSchema,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const BASE = `version: 1
server: { name: notes, version: 1.0.0, owner: team }
`;

function issuesOf(text: string, options = {}): PolicyIssue[] {
  try {
    parsePolicy(text, { filename: 'p.yaml', ...options });
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    expect(err).toBeInstanceOf(TypeError);
    return [...(err as PolicyError).issues];
  }
  throw new Error('expected the policy to be refused');
}

describe('the published JSON Schema', () => {
  it('is exactly what the zod schema generates (regenerate with UPDATE_SCHEMA=1)', () => {
    const file = join(import.meta.dirname, '../schema/policy.schema.json');
    const generated = policyJsonSchema();
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(file, `${JSON.stringify(generated, null, 2)}\n`);
    // Compared as data: the formatter may lay the file out differently.
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(generated);
  });

  it('refuses unknown keys at every level (additionalProperties false)', () => {
    const schema = policyJsonSchema() as {
      additionalProperties?: boolean;
      properties: Record<string, { additionalProperties?: boolean }>;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.server!.additionalProperties).toBe(false);
  });
});

describe('parsePolicy', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('accepts the quickstart policy and every one of its environments', async () => {
    const file = join(import.meta.dirname, 'fixtures/quickstart.policy.yaml');
    const base = await loadPolicy(file, { env: {} });
    expect(base.effective.rateLimit?.limits?.principal).toEqual({ points: 300, duration: 60 });
    const prod = await loadPolicy(file, { environment: 'production', env: {} });
    expect(prod.effective.rateLimit?.limits?.principal).toEqual({ points: 120, duration: 60 });
    // Merged, not replaced: the base's transport type and path survive the override.
    expect(prod.effective.transport).toMatchObject({
      type: 'http',
      host: '0.0.0.0',
      port: 8080,
      path: '/mcp',
    });
  });

  it('resolves file references and reports a missing variable at its line', () => {
    const secret = join(tmp.dir, 'digest.key');
    writeFileSync(secret, 'file-held-key\n');
    const text = `${BASE}audit:\n  sinks: [{ type: stdout }]\n  spillDir: /tmp/spill\n  argumentsDigestKey: \${file:${secret}}\n`;
    expect(parsePolicy(text).effective.audit?.argumentsDigestKey).toBe('file-held-key');
    const missing = issuesOf(text.replace(`\${file:${secret}}`, `\${env:NOT_SET_ANYWHERE}`), { env: {} });
    expect(missing).toEqual([
      expect.objectContaining({
        line: 6,
        path: 'audit.argumentsDigestKey',
        kind: 'reference',
        message: 'environment variable NOT_SET_ANYWHERE is not set',
      }),
    ]);
  });

  it('accepts references for deployment-specific values and checks what they resolve to', () => {
    const text = `${BASE}authentication:\n  bearer:\n    issuer: \${env:ISSUER}\n    audience: notes\n    jwksUrl: \${env:JWKS}\n    algorithms: [ES256]\n`;
    const ok = parsePolicy(text, {
      env: { ISSUER: 'https://idp.example/', JWKS: 'https://idp.example/jwks' },
    });
    expect(ok.effective.authentication?.bearer?.issuer).toBe('https://idp.example/');
    const [issue] = issuesOf(text, { env: { ISSUER: 'not a url', JWKS: 'https://idp.example/jwks' } });
    expect(issue).toMatchObject({ line: 5, path: 'authentication.bearer.issuer', kind: 'reference' });
    expect(issue!.message).toContain('the referenced value is not valid here');
  });

  it('locates an error in an environment override in the override', () => {
    const text = `${BASE}rateLimit:\n  limits: { principal: { points: 10, duration: 60 } }\nenvironments:\n  production:\n    rateLimit:\n      limits: { principal: { points: -1 } }\n`;
    const [issue] = issuesOf(text);
    expect(issue).toMatchObject({
      line: 8,
      path: 'environments.production.rateLimit.limits.principal.points',
      kind: 'schema',
    });
  });

  it('refuses an environment that is not declared', () => {
    expect(issuesOf(BASE, { environment: 'staging' })[0]!.message).toContain(
      'environment "staging" is not declared',
    );
  });

  it('finds inline secrets anywhere, not only in secret fields', () => {
    const text = `${BASE}tools:\n  search:\n    description: "uses token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"\n    rule: allow\n`;
    const [issue] = issuesOf(text);
    expect(issue).toMatchObject({ line: 5, path: 'tools.search.description', kind: 'inline-secret' });
    expect(issue!.message).toContain('jwt');
    // The secret value itself never appears in the error.
    expect(issue!.message).not.toContain('eyJ');
  });

  it('reports rules rbac cannot compile, at the rule', () => {
    const text = `${BASE}resources:\n  "notes://{tenant}/{id":\n    rule: allow\n`;
    const issues = issuesOf(text);
    expect(issues[0]).toMatchObject({ kind: 'semantic', path: 'resources["notes://{tenant}/{id"].rule' });
  });

  it('needs a top-level rateLimit for per-target limits and exactly one key source for bearer', () => {
    const text = `${BASE}authentication:\n  bearer: { issuer: "https://i.example/", audience: a, algorithms: [ES256] }\ntools:\n  t: { rule: allow, rateLimit: { cost: 2 } }\n`;
    const messages = issuesOf(text).map((i) => i.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'give exactly one of jwksUrl or keysFile',
        'per-target rate limits need a top-level rateLimit section (limits or concurrency)',
      ]),
    );
  });

  it('reads JSON policies with the same locations', () => {
    const json = `{\n  "version": 1,\n  "server": { "name": "n", "version": "1", "owner": 7 }\n}\n`;
    expect(issuesOf(json)[0]).toMatchObject({ line: 3, path: 'server.owner', kind: 'schema' });
  });

  it('fromPolicy refuses a policy whose references were not resolved', () => {
    const text = `${BASE}redaction:\n  hashKey: \${env:HASH_KEY}\n`;
    const unresolved = parsePolicy(text, { resolveReferences: false });
    expect(() => fromPolicy(unresolved)).toThrow(/redaction\.hashKey is an unresolved secret reference/);
    expect(
      fromPolicy(parsePolicy(text, { env: { HASH_KEY: 'a-sixteen-plus-byte-key' } })).use.map(
        (m) => m.middlewareName,
      ),
    ).toEqual(['rbac', 'sanitize']);
  });
});

describe('the README', () => {
  it('shows a complete policy file that passes validation', () => {
    const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const policy = parsePolicy(example!, { filename: 'README.md', resolveReferences: false });
    expect(Object.keys(policy.effective.tools ?? {})).toHaveLength(5);
    expect(policy.environments).toEqual(['production']);
  });
});
