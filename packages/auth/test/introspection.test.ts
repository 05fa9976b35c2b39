import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFakeClock, createTestIssuer, type TestIssuer } from '@mcp-harden/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { anyOf, apiKeys, bearerAuth, hashApiKey, introspection } from '../src/index.js';
import { expectUnauthenticated } from './helpers.js';

const AUDIENCE = 'https://mcp.example.com/mcp';

/** A small RFC 7662 endpoint over real HTTP: a token table, client authentication, a call counter. */
async function startIntrospectionServer() {
  const tokens = new Map<string, Record<string, unknown>>();
  const state = {
    calls: 0,
    mode: 'up' as 'up' | 'down' | 'garbage',
    lastAuthorization: '' as string | undefined,
  };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    state.calls++;
    state.lastAuthorization = req.headers.authorization;
    if (state.mode === 'down') return void res.writeHead(503).end();
    if (state.mode === 'garbage')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('[1,');
    if (req.headers.authorization !== `Basic ${Buffer.from('rs:rs-secret').toString('base64')}`) {
      return void res.writeHead(401).end();
    }
    const token = new URLSearchParams(Buffer.concat(chunks).toString()).get('token') ?? '';
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(tokens.get(token) ?? { active: false }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`,
    tokens,
    state,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('introspection (RFC 7662)', () => {
  let as: Awaited<ReturnType<typeof startIntrospectionServer>>;
  const clock = createFakeClock();
  const exp = () => Math.floor(clock.now() / 1000) + 120;
  beforeAll(async () => {
    as = await startIntrospectionServer();
  });
  afterAll(async () => {
    await as.close();
  });
  afterEach(() => {
    as.state.mode = 'up';
    as.tokens.clear();
  });
  const auth = (extra: Partial<Parameters<typeof introspection>[0]> = {}) =>
    introspection({
      endpoint: as.url,
      clientId: 'rs',
      clientSecret: 'rs-secret',
      audience: AUDIENCE,
      clock: clock.now,
      ...extra,
    });

  it('accepts an active opaque token for this audience and caches the answer until exp', async () => {
    as.tokens.set('opaque-1', {
      active: true,
      sub: 'carol',
      client_id: 'agent',
      scope: 'notes:read',
      aud: AUDIENCE,
      exp: exp(),
    });
    const verifier = auth();
    const principal = await verifier.authenticateRequest({ headers: { authorization: 'Bearer opaque-1' } });
    expect(principal).toMatchObject({ subject: 'carol', clientId: 'agent', scopes: ['notes:read'] });
    expect(principal?.authMethod).toBe('introspection');
    const calls = as.state.calls;
    expect(await verifier.verify('opaque-1')).toBe(principal);
    expect(as.state.calls).toBe(calls);
    clock.advance(121_000);
    await expectUnauthenticated(verifier.verify('opaque-1'), { reason: 'expired_credential' });
  });

  it('refuses inactive tokens, other audiences, missing exp and an unreachable or broken endpoint', async () => {
    as.tokens.set('other-aud', { active: true, sub: 'x', aud: 'https://other.example.com', exp: exp() });
    as.tokens.set('no-exp', { active: true, sub: 'x', aud: AUDIENCE });
    as.tokens.set('not-yet', { active: true, sub: 'x', aud: AUDIENCE, exp: exp(), nbf: exp() });
    const verifier = auth();
    await expectUnauthenticated(verifier.verify('unknown'), { reason: 'invalid_credential' });
    await expectUnauthenticated(verifier.verify('other-aud'), { reason: 'invalid_credential' });
    await expectUnauthenticated(verifier.verify('no-exp'), { reason: 'invalid_credential' });
    await expectUnauthenticated(verifier.verify('not-yet'), { reason: 'invalid_credential' });
    await expectUnauthenticated(auth({ clientSecret: 'wrong' }).verify('unknown'), { reason: 'unavailable' });
    as.state.mode = 'down';
    await expectUnauthenticated(verifier.verify('opaque-2'), { reason: 'unavailable' });
    as.state.mode = 'garbage';
    await expectUnauthenticated(verifier.verify('opaque-3'), { reason: 'unavailable' });
  });

  it('throws TypeError on missing endpoint, audience, half client credentials or plain http', () => {
    expect(() => introspection({ audience: AUDIENCE } as never)).toThrow(TypeError);
    expect(() => introspection({ endpoint: as.url } as never)).toThrow(TypeError);
    expect(() => introspection({ endpoint: as.url, audience: AUDIENCE, clientId: 'rs' })).toThrow(TypeError);
    expect(() =>
      introspection({ endpoint: 'http://auth.example.com/introspect', audience: AUDIENCE }),
    ).toThrow(/https/);
  });
});

describe('anyOf', () => {
  let issuer: TestIssuer;
  let as: Awaited<ReturnType<typeof startIntrospectionServer>>;
  const KEY = 'mk_test_4a7b1c9d2e8f3a6b5c0d1e2f3a4b5c6d';
  beforeAll(async () => {
    issuer = await createTestIssuer({ audience: AUDIENCE });
    as = await startIntrospectionServer();
  });
  afterAll(async () => {
    await issuer.close();
    await as.close();
  });
  const methods = () => {
    const jwt = bearerAuth({
      jwksUri: issuer.jwksUri,
      issuer: issuer.issuer,
      audience: AUDIENCE,
      algorithms: ['ES256'],
    });
    const keys = apiKeys({ keys: [{ digest: hashApiKey(KEY), subject: 'svc' }] });
    const opaque = introspection({
      endpoint: as.url,
      clientId: 'rs',
      clientSecret: 'rs-secret',
      audience: AUDIENCE,
    });
    return [jwt, keys, opaque] as const;
  };

  it('lets the first method that recognises the credential verify it', async () => {
    const auth = anyOf([...methods()]);
    const jwt = await issuer.mintToken({ sub: 'jwt-user' });
    as.tokens.set('opaque-ok', {
      active: true,
      sub: 'opaque-user',
      aud: AUDIENCE,
      exp: Math.floor(Date.now() / 1000) + 60,
    });
    expect(
      (await auth.authenticateRequest({ headers: { authorization: `Bearer ${jwt}` } }))?.authMethod,
    ).toBe('jwt');
    expect((await auth.authenticateRequest({ headers: { 'x-api-key': KEY } }))?.authMethod).toBe('api-key');
    const opaque = await auth.authenticateRequest({ headers: { authorization: 'Bearer opaque-ok' } });
    expect(opaque).toMatchObject({ subject: 'opaque-user', authMethod: 'introspection' });
  });

  it('never falls back to a weaker method or to anonymous when a credential is invalid', async () => {
    const auth = anyOf([...methods()], { allowAnonymous: true });
    const callsBefore = as.state.calls;
    // a JWT-shaped token with a bad signature is refused by bearerAuth, not handed to introspection
    const forged = `${(await issuer.mintToken()).slice(0, -4)}AAAA`;
    await expectUnauthenticated(auth.authenticateRequest({ headers: { authorization: `Bearer ${forged}` } }));
    expect(as.state.calls).toBe(callsBefore);
    await expectUnauthenticated(auth.authenticateRequest({ headers: { 'x-api-key': 'wrong-key' } }));
    // an API key in the header and a token in Authorization: the first recognised method decides
    await expectUnauthenticated(
      auth.authenticateRequest({ headers: { authorization: `Bearer ${forged}`, 'x-api-key': KEY } }),
    );
    // nothing at all: anonymous, as configured
    expect(await auth.authenticateRequest({ headers: {} })).toBeUndefined();
  });

  it('refuses a credential no method accepts and lists every challenge when none was sent', async () => {
    const [jwt, keys] = methods();
    const auth = anyOf([jwt, keys]);
    await expectUnauthenticated(auth.authenticateRequest({ headers: { authorization: 'Bearer opaque' } }), {
      reason: 'malformed_credential',
    });
    const missing = await expectUnauthenticated(auth.authenticateRequest({ headers: {} }));
    expect(missing.httpHeaders?.['WWW-Authenticate']).toBe('Bearer, ApiKey header="x-api-key"');
    expect(() => anyOf([])).toThrow(TypeError);
    expect(() => anyOf([(async () => ({})) as never])).toThrow(TypeError);
  });
});
