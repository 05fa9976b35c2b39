import { compose, createContext, isHardenError, type Middleware } from '@mcp-harden/core';
import { harden } from '@mcp-harden/sdk';
import { createTestIssuer, type TestIssuer } from '@mcp-harden/testing';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  apiKeys,
  bearerAuth,
  hashApiKey,
  insufficientScopeError,
  principalFromEnv,
  staticPrincipal,
  toAuthInfo,
} from '../src/index.js';
import { expectUnauthenticated } from './helpers.js';

const AUDIENCE = 'https://mcp.example.com/mcp';
const METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

/** Until rbac is in place: a per-tool scope check that refuses the way rbac does. */
const requireToolScopes: Middleware = async (ctx, next) => {
  const needed =
    ctx.policy?.tags?.filter((t) => t.startsWith('scope:')).map((t) => t.slice('scope:'.length)) ?? [];
  const granted = ctx.principal?.scopes ?? [];
  if (needed.some((s) => !granted.includes(s)))
    throw insufficientScopeError(needed, { resourceMetadataUrl: METADATA });
  return next();
};

async function connect(use: Middleware[]) {
  const server = new McpServer({ name: 'notes', version: '1.0.0' });
  const hardened = harden(server, { use });
  hardened
    .withPolicy({ tags: ['scope:notes:read'] })
    .registerTool('read', { description: 'read' }, async () => ({
      content: [{ type: 'text', text: 'a note' }],
    }));
  hardened
    .withPolicy({ tags: ['scope:notes:read', 'scope:notes:write'] })
    .registerTool('write', { description: 'write' }, async () => ({
      content: [{ type: 'text', text: 'saved' }],
    }));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await hardened.connect(serverSide, { kind: 'stdio' });
  const client = new Client({ name: 't', version: '1.0.0' });
  await client.connect(clientSide);
  return {
    client,
    async close() {
      await client.close();
      await hardened.close();
    },
  };
}

describe('auth middleware with the official SDK (in memory, as over stdio)', () => {
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await createTestIssuer({ audience: AUDIENCE });
  });
  afterAll(async () => {
    await issuer.close();
  });
  const bearer = () =>
    bearerAuth({ jwksUri: issuer.jwksUri, issuer: issuer.issuer, audience: AUDIENCE, algorithms: ['ES256'] });

  it('runs every request as the principal fixed at start-up from the environment', async () => {
    const token = await issuer.mintToken({ sub: 'cli-user', scope: 'notes:read' });
    const auth = await principalFromEnv(bearer(), 'MCP_ACCESS_TOKEN', { MCP_ACCESS_TOKEN: token });
    const seen: string[] = [];
    const spy: Middleware = async (ctx, next) => {
      seen.push(`${ctx.principal?.subject}:${ctx.state.authentication?.method}`);
      return next();
    };
    const { client, close } = await connect([auth, spy, requireToolScopes]);
    expect((await client.callTool({ name: 'read', arguments: {} })).content).toEqual([
      { type: 'text', text: 'a note' },
    ]);
    expect(seen).toEqual(['cli-user:jwt']);
    await close();
  });

  it('answers a call needing a scope the token lacks with a JSON-RPC error naming the needed scopes', async () => {
    const token = await issuer.mintToken({ sub: 'reader', scope: 'notes:read' });
    const { client, close } = await connect([
      staticPrincipal(await bearer().verify(token)),
      requireToolScopes,
    ]);
    const error = await client.callTool({ name: 'write', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32012);
    expect((error as McpError).data).toEqual({
      code: 'ERR_INSUFFICIENT_SCOPE',
      requiredScopes: ['notes:read', 'notes:write'],
    });
    expect(JSON.stringify(error)).not.toContain(token.slice(-16));
    await close();
  });

  it('refuses every request over stdio when no principal was fixed (no credential to read)', async () => {
    const { client, close } = await connect([bearer()]);
    const error = await client.listTools().catch((e: unknown) => e);
    expect((error as McpError).code).toBe(-32010);
    expect((error as McpError).data).toEqual({ code: 'ERR_UNAUTHENTICATED', reason: 'missing_credential' });
    await close();
  });

  it('refuses requests once the start-up principal has expired', async () => {
    let now = Date.now();
    const auth = staticPrincipal(
      { subject: 'svc', expiresAt: Math.floor(now / 1000) + 60 },
      { clock: () => now },
    );
    const { client, close } = await connect([auth]);
    await client.listTools();
    now += 61_000;
    const error = await client.listTools().catch((e: unknown) => e);
    expect((error as McpError).data).toMatchObject({
      code: 'ERR_UNAUTHENTICATED',
      reason: 'expired_credential',
    });
    await close();
  });

  it('throws TypeError when the environment variable is unset, and refuses a bad credential at start-up', async () => {
    await expect(principalFromEnv(bearer(), 'MCP_ACCESS_TOKEN', {})).rejects.toThrow(TypeError);
    await expectUnauthenticated(
      principalFromEnv(bearer(), 'MCP_ACCESS_TOKEN', { MCP_ACCESS_TOKEN: 'a.b.c' }),
    );
    expect(() => staticPrincipal({ subject: '' })).toThrow(TypeError);
  });

  it('reads the bearer token from HTTP headers on the context, and allows anonymous only when asked', async () => {
    const token = await issuer.mintToken({ sub: 'http-user' });
    const terminal = async () => ({ ok: true });
    const withHeaders = (headers: Record<string, string>) =>
      createContext({ method: 'tools/list', request: { transport: 'http', headers } });
    const ctx = withHeaders({ authorization: `Bearer ${token}` });
    await compose([bearer()])(ctx, terminal);
    expect(ctx.principal?.subject).toBe('http-user');
    expect(ctx.state.authentication).toEqual({ method: 'jwt', anonymous: false });

    await expectUnauthenticated(compose([bearer()])(withHeaders({}), terminal), {
      reason: 'missing_credential',
    });
    const anonymous = withHeaders({});
    const open = bearerAuth({
      jwksUri: issuer.jwksUri,
      issuer: issuer.issuer,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      allowAnonymous: true,
    });
    await compose([open])(anonymous, terminal);
    expect(anonymous.principal).toBeUndefined();
    expect(anonymous.state.authentication).toEqual({ method: 'jwt', anonymous: true });
    // a bad credential is never downgraded to anonymous
    await expectUnauthenticated(compose([open])(withHeaders({ authorization: 'Bearer x.y.z' }), terminal));
  });

  it('reuses the principal verified at the HTTP edge instead of verifying twice', async () => {
    const auth = bearer();
    const token = await issuer.mintToken({ sub: 'edge-user' });
    const principal = await auth.authenticateRequest({ headers: { authorization: `Bearer ${token}` } });
    const requestsBefore = issuer.jwksRequests;
    // headers without any credential: only the edge's principal can authenticate this request
    const ctx = createContext({
      method: 'tools/list',
      request: { transport: 'http', headers: {}, authInfo: toAuthInfo(principal!) },
    });
    await compose([auth])(ctx, async () => ({}));
    expect(ctx.principal).toBe(principal);
    expect(issuer.jwksRequests).toBe(requestsBefore);
    expect(toAuthInfo(principal!).token).toBe('');
    // a look-alike principal the package did not verify is not trusted
    const forged = createContext({
      method: 'tools/list',
      request: {
        transport: 'http',
        headers: {},
        authInfo: {
          token: '',
          clientId: 'x',
          scopes: ['admin'],
          extra: { principal: { ...principal!, subject: 'root' } },
        },
      },
    });
    await expectUnauthenticated(compose([auth])(forged, async () => ({})));
  });

  it('declares its state key by declaration merging', () => {
    const ctx = createContext({ method: 'tools/list' });
    expectTypeOf(ctx.state.authentication).toEqualTypeOf<
      { method: string; anonymous: boolean } | undefined
    >();
  });
});

describe('apiKeys', () => {
  const KEY = 'mk_test_7f1c2d9e4b8a4c6f9e0d1a2b3c4d5e6f';
  const OTHER = 'mk_test_0000000000000000000000000000000';
  const keys = [
    {
      digest: hashApiKey(KEY),
      subject: 'svc:reporter',
      scopes: ['reports:read'],
      roles: ['service'],
      tenant: 'acme',
    },
    { digest: hashApiKey(OTHER), subject: 'svc:old', expiresAt: Math.floor(Date.now() / 1000) - 1 },
  ];

  it('maps a key to its service-account principal', async () => {
    const auth = apiKeys({ keys });
    const principal = await auth.authenticateRequest({ headers: { 'x-api-key': KEY } });
    expect(principal).toMatchObject({
      subject: 'svc:reporter',
      scopes: ['reports:read'],
      roles: ['service'],
      tenant: 'acme',
      authMethod: 'api-key',
    });
  });

  it('refuses unknown, expired, oversized and repeated keys without echoing them', async () => {
    const auth = apiKeys({ keys });
    await expectUnauthenticated(auth.authenticateRequest({ headers: { 'x-api-key': `${KEY}x` } }), {
      reason: 'invalid_credential',
      credential: `${KEY}x`,
    });
    await expectUnauthenticated(auth.verify(OTHER), { reason: 'expired_credential' });
    await expectUnauthenticated(auth.verify('k'.repeat(9000)), { reason: 'credential_too_large' });
    await expectUnauthenticated(auth.authenticateRequest({ headers: { 'x-api-key': [KEY, OTHER] } }), {
      reason: 'malformed_credential',
    });
    await expectUnauthenticated(auth.authenticateRequest({ headers: {}, url: `/mcp?api_key=${KEY}` }), {
      reason: 'token_in_query',
      credential: KEY,
    });
  });

  it('accepts Authorization: Bearer only when told to', async () => {
    await expectUnauthenticated(
      apiKeys({ keys }).authenticateRequest({ headers: { authorization: `Bearer ${KEY}` } }),
    );
    const principal = await apiKeys({ keys, acceptBearer: true }).authenticateRequest({
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(principal?.subject).toBe('svc:reporter');
  });

  it('stores digests only and throws TypeError on clear keys or bad options', () => {
    expect(hashApiKey(KEY)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(() => apiKeys({ keys: [{ digest: KEY, subject: 'x' }] })).toThrow(TypeError);
    expect(() => apiKeys({ keys: [{ digest: hashApiKey(KEY), subject: '' }] })).toThrow(TypeError);
    expect(() => apiKeys({ keys: [keys[0]!, keys[0]!] })).toThrow(TypeError);
    expect(() => apiKeys({ keys, header: 'authorization' })).toThrow(TypeError);
    expect(() => apiKeys({} as never)).toThrow(TypeError);
  });
});

describe('insufficientScopeError', () => {
  it('is a 403 ERR_INSUFFICIENT_SCOPE with requiredScopes and the challenge', () => {
    const err = insufficientScopeError(['a', 'b'], { resourceMetadataUrl: METADATA });
    expect(isHardenError(err, 'ERR_INSUFFICIENT_SCOPE')).toBe(true);
    expect(err.httpStatus).toBe(403);
    expect(err.data).toEqual({ requiredScopes: ['a', 'b'] });
    expect(err.httpHeaders).toEqual({
      'WWW-Authenticate': `Bearer error="insufficient_scope", scope="a b", resource_metadata="${METADATA}"`,
    });
  });
});
