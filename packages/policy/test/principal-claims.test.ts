import { join } from 'node:path';
import type { Authenticator } from '@mcp-harden/auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPolicy, type LoadedPolicy, parsePolicy, principalFromClaimsFile } from '../src/index.js';
import { AUDIENCE, ISSUER, localIssuer, tempDir } from './helpers.js';

const POLICY = (mapping: string) => `
version: 1
server: { name: notes, version: 1.0.0, owner: platform-team@example.com }
roles:
  editor: { description: Edits }
  admin: { description: Administers }
authentication:
  bearer:
    issuer: ${ISSUER}
    audience: ${AUDIENCE}
    keysFile: \${env:KEYS}
    algorithms: [ES256]
${mapping}
`;

describe('explain reads a claims file with the claim mapping of the running bearerAuth', () => {
  const tmp = tempDir();
  let issuer: Awaited<ReturnType<typeof localIssuer>>;
  beforeAll(async () => {
    issuer = await localIssuer(tmp.dir);
  });
  afterAll(() => tmp.cleanup());

  const load = (mapping: string): LoadedPolicy =>
    parsePolicy(POLICY(mapping), { filename: 'p.yaml', env: { KEYS: join(tmp.dir, 'jwks.json') } });

  it.each([
    [
      'default claim names',
      '',
      { sub: 'rita', scope: 'notes:read notes:write', scp: ['x'], roles: ['editor'], tid: 'acme' },
    ],
    [
      'a custom mapping',
      '    claims: { subject: uid, scopes: [perms, scope], roles: groups, tenant: org, clientId: app }',
      {
        uid: 'walt',
        sub: 'ignored',
        perms: ['notes:read'],
        scope: 'notes:write',
        groups: 'editor admin',
        org: 'globex',
        app: 'cli-1',
      },
    ],
    ['a client-credentials token without sub', '', { client_id: 'batch-job', scope: 'notes:read' }],
  ])('gives the same principal as the server for %s', async (_name, mapping, claims) => {
    const policy = load(mapping);
    const server = fromPolicy(policy).parts.authentication as Authenticator;
    const verified = await server.verify(await issuer.mint(claims));
    const explained = principalFromClaimsFile(policy, await decoded(await issuer.mint(claims)));
    const fields = (p: typeof verified) => ({
      subject: p.subject,
      clientId: p.clientId,
      scopes: [...p.scopes].sort(),
      roles: [...p.roles].sort(),
      tenant: p.tenant,
      authMethod: p.authMethod,
    });
    expect(fields(explained)).toEqual(fields(verified));
  });

  it('reads a principal document as is and refuses claims without a subject', () => {
    const policy = load('');
    expect(
      principalFromClaimsFile(policy, {
        subject: 'ada',
        scopes: 'notes:read',
        roles: ['admin'],
        tenant: 'acme',
      }),
    ).toMatchObject({ subject: 'ada', scopes: ['notes:read'], roles: ['admin'], tenant: 'acme' });
    expect(() => principalFromClaimsFile(policy, { scope: 'notes:read' })).toThrow('claims have no subject');
    expect(() => principalFromClaimsFile(policy, [] as never)).toThrow(TypeError);
  });
});

/** The payload of a signed token, as `explain --principal` reads it from a file. */
async function decoded(token: string) {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}
