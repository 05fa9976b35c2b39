import { createPublicKey } from 'node:crypto';
import { inspect } from 'node:util';
import { createFakeClock, createTestIssuer, type FakeClock, type TestIssuer } from '@mcp-harden/testing';
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BearerAuthOptions, bearerAuth } from '../src/index.js';
import { b64url, expectUnauthenticated } from './helpers.js';

const AUDIENCE = 'https://mcp.example.com/mcp';
const METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

describe('bearerAuth: the token attack suite', () => {
  let issuer: TestIssuer;
  let clock: FakeClock;
  const nowSeconds = () => Math.floor(clock.now() / 1000);

  beforeEach(async () => {
    clock = createFakeClock();
    issuer = await createTestIssuer({ audience: AUDIENCE, now: clock.now });
  });
  afterEach(async () => {
    await issuer.close();
  });

  const auth = (overrides: Partial<BearerAuthOptions> = {}) =>
    bearerAuth({
      jwksUri: issuer.jwksUri,
      issuer: issuer.issuer,
      audience: AUDIENCE,
      algorithms: ['ES256', 'RS256'],
      clock: clock.now,
      jwks: { timeoutMs: 300, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 },
      challenge: { resourceMetadataUrl: METADATA },
      ...overrides,
    });

  it('accepts a valid token and maps its claims (baseline for the cases below)', async () => {
    const token = await issuer.mintToken({ sub: 'alice', scope: 'notes:read notes:write', client_id: 'cli' });
    const principal = await auth().verify(token);
    expect(principal).toMatchObject({
      subject: 'alice',
      clientId: 'cli',
      scopes: ['notes:read', 'notes:write'],
      authMethod: 'jwt',
    });
  });

  it('refuses alg: none', async () => {
    const good = await issuer.mintToken();
    const payload = good.split('.')[1]!;
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    await expectUnauthenticated(auth().verify(token), { credential: token });
  });

  it("refuses HS256 signed with the server's RSA public key as the secret", async () => {
    await issuer.rotateKeys({ algorithm: 'RS256', keepPrevious: false });
    const rsa = issuer.currentKey;
    const pem = createPublicKey({ key: rsa.publicJwk as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    const token = await new SignJWT({ sub: 'mallory', scope: 'admin', exp: nowSeconds() + 300 })
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
      .setIssuer(issuer.issuer)
      .setAudience(AUDIENCE)
      .sign(new TextEncoder().encode(pem.toString()));
    const err = await expectUnauthenticated(auth().verify(token), {
      credential: token,
      reason: 'invalid_credential',
    });
    expect(err.httpHeaders?.['WWW-Authenticate']).toContain('error="invalid_token"');
  });

  it('refuses an expired token', async () => {
    const token = await issuer.mintToken({ exp: nowSeconds() - 10 });
    await expectUnauthenticated(auth().verify(token), { credential: token, reason: 'expired_credential' });
  });

  it('refuses a token whose nbf is in the future', async () => {
    const token = await issuer.mintToken({ nbf: nowSeconds() + 3600 });
    await expectUnauthenticated(auth().verify(token), { credential: token, reason: 'invalid_credential' });
  });

  it('refuses a token from another issuer', async () => {
    const token = await issuer.mintToken({ iss: 'https://evil.example.com' });
    await expectUnauthenticated(auth().verify(token), { credential: token });
  });

  it('refuses a token whose audience is another server', async () => {
    const token = await issuer.mintToken({ aud: 'https://other.example.com/mcp' });
    await expectUnauthenticated(auth().verify(token), { credential: token });
    const noAud = await issuer.mintToken({ aud: undefined });
    await expectUnauthenticated(auth().verify(noAud), { credential: noAud });
  });

  it('refuses a token without exp', async () => {
    const token = await issuer.mintToken({}, { omitExp: true });
    await expectUnauthenticated(auth().verify(token), { credential: token });
  });

  it('refuses an unknown kid, fetching the JWKS again at most once per cooldown', async () => {
    const verifier = auth();
    await verifier.verify(await issuer.mintToken());
    expect(issuer.jwksRequests).toBe(1);
    const rogue = await issuer.rotateKeys();
    issuer.removeKey(rogue.kid); // signed with a key the JWKS never published
    const mintRogue = (i: number) => issuer.mintToken({ jti: `rogue-${i}` }, { kid: rogue.kid });
    // within the cooldown of the first fetch: refused without another fetch
    const first = await mintRogue(0);
    await expectUnauthenticated(verifier.verify(first), { credential: first });
    expect(issuer.jwksRequests).toBe(1);
    clock.advance(30_000);
    for (let i = 1; i <= 5; i++) await expectUnauthenticated(verifier.verify(await mintRogue(i)));
    expect(issuer.jwksRequests).toBe(2); // five unknown kids, one re-fetch
    clock.advance(29_000);
    await expectUnauthenticated(verifier.verify(await mintRogue(6)));
    expect(issuer.jwksRequests).toBe(2);
    clock.advance(1_000);
    await expectUnauthenticated(verifier.verify(await mintRogue(7)));
    expect(issuer.jwksRequests).toBe(3);
  });

  it('picks up a rotated key (unknown kid after cooldown) without a restart', async () => {
    const verifier = auth();
    await verifier.verify(await issuer.mintToken());
    await issuer.rotateKeys();
    clock.advance(30_000);
    const principal = await verifier.verify(await issuer.mintToken({ sub: 'after-rotation' }));
    expect(principal.subject).toBe('after-rotation');
    expect(issuer.jwksRequests).toBe(2);
  });

  it('keeps cached keys working while the JWKS endpoint is down, and refuses keys it cannot fetch', async () => {
    const verifier = auth();
    await verifier.verify(await issuer.mintToken());
    issuer.setAvailability('down');
    const rotated = await issuer.rotateKeys();
    clock.advance(30_000);
    const unknown = await issuer.mintToken({}, { kid: rotated.kid });
    await expectUnauthenticated(verifier.verify(unknown), { credential: unknown, reason: 'unavailable' });
    const known = await issuer.mintToken({ sub: 'still-works' }, { kid: issuer.keys[0]!.kid });
    expect((await verifier.verify(known)).subject).toBe('still-works');
    // past the cache age the stale keys still serve while every fetch fails
    clock.advance(600_000);
    const later = await issuer.mintToken({ sub: 'stale-but-up' }, { kid: issuer.keys[0]!.kid });
    expect((await verifier.verify(later)).subject).toBe('stale-but-up');
  });

  it('times out a hanging JWKS endpoint and keeps serving cached keys', async () => {
    const verifier = auth();
    await verifier.verify(await issuer.mintToken());
    issuer.setAvailability('hang');
    const rotated = await issuer.rotateKeys();
    clock.advance(30_000);
    const unknown = await issuer.mintToken({}, { kid: rotated.kid });
    await expectUnauthenticated(verifier.verify(unknown), { credential: unknown, reason: 'unavailable' });
    const known = await issuer.mintToken({ sub: 'cached' }, { kid: issuer.keys[0]!.kid });
    expect((await verifier.verify(known)).subject).toBe('cached');
  });

  it('refuses every token while a hanging JWKS was never fetched, trying once per cooldown', async () => {
    issuer.setAvailability('hang');
    const verifier = auth();
    const token = await issuer.mintToken();
    await expectUnauthenticated(verifier.verify(token), { reason: 'unavailable' });
    await expectUnauthenticated(verifier.verify(await issuer.mintToken({ jti: 'second' })), {
      reason: 'unavailable',
    });
    expect(issuer.jwksRequests).toBe(1);
    issuer.setAvailability('up');
    clock.advance(30_000);
    expect((await verifier.verify(token)).subject).toBe('user-1');
  });

  it('refuses an oversized token (> 8 KiB) before parsing it', async () => {
    const token = await issuer.mintToken({ padding: 'x'.repeat(9000) });
    const verifier = auth();
    await expectUnauthenticated(verifier.verify(token), { reason: 'credential_too_large' });
    await expectUnauthenticated(
      verifier.authenticateRequest({ headers: { authorization: `Bearer ${token}` } }),
      {
        reason: 'credential_too_large',
      },
    );
    expect(issuer.jwksRequests).toBe(0); // nothing was looked up
  });

  it('refuses malformed base64 and malformed JSON', async () => {
    const verifier = auth();
    const good = await issuer.mintToken();
    const [, payload, signature] = good.split('.');
    const cases = [
      'a.b.c',
      '!!!.@@@.###',
      `${b64url('{"alg":"ES256",')}.${payload}.${signature}`,
      `${b64url('not json at all')}.${payload}.${signature}`,
      `${good.split('.')[0]}.${b64url('[1,2')}.${signature}`,
      `${good.split('.')[0]}.${payload}`,
      'onlyonepart',
      `${good}.extra.parts`,
    ];
    for (const token of cases) await expectUnauthenticated(verifier.verify(token), { credential: token });
  });

  it('refuses a token with a crit header it does not understand', async () => {
    const token = await issuer.mintToken(
      {},
      { header: { crit: ['urn:example:critical'], 'urn:example:critical': 1 } },
    );
    await expectUnauthenticated(auth().verify(token), { credential: token });
  });

  it('refuses a signature from a key removed from the JWKS once the cache expires', async () => {
    const verifier = auth();
    const old = issuer.currentKey;
    const early = await issuer.mintToken({ sub: 'early' });
    expect((await verifier.verify(early)).subject).toBe('early');
    await issuer.rotateKeys();
    issuer.removeKey(old.kid);
    clock.advance(600_000); // JWKS cache and verified-token cache both expire
    const late = await issuer.mintToken({ sub: 'late' }, { kid: old.kid, expiresIn: 3600 });
    await expectUnauthenticated(verifier.verify(late), { credential: late });
    await expectUnauthenticated(verifier.verify(early)); // the cached verdict does not outlive the key
    expect((await verifier.verify(await issuer.mintToken({ sub: 'new-key' }))).subject).toBe('new-key');
  });

  it('refuses a signature that does not match (tampered payload)', async () => {
    const token = await issuer.mintToken({ scope: 'notes:read' });
    const [h, , s] = token.split('.');
    const forged = `${h}.${b64url({ iss: issuer.issuer, aud: AUDIENCE, sub: 'admin', exp: nowSeconds() + 60 })}.${s}`;
    await expectUnauthenticated(auth().verify(forged), { credential: forged, reason: 'invalid_credential' });
  });

  it('refuses an algorithm outside the allow-list', async () => {
    await issuer.rotateKeys({ algorithm: 'RS256' });
    const token = await issuer.mintToken();
    await expectUnauthenticated(auth({ algorithms: ['ES256'] }).verify(token), { credential: token });
  });
});

describe('bearerAuth: options, claims and cache', () => {
  let issuer: TestIssuer;
  let clock: FakeClock;
  beforeEach(async () => {
    clock = createFakeClock();
    issuer = await createTestIssuer({ audience: AUDIENCE, now: clock.now, algorithm: 'RS256' });
  });
  afterEach(async () => {
    await issuer.close();
  });
  const base = (): BearerAuthOptions => ({
    jwksUri: issuer.jwksUri,
    issuer: issuer.issuer,
    audience: AUDIENCE,
    algorithms: ['RS256'],
    clock: clock.now,
  });

  it('throws TypeError at construction when issuer, audience or algorithms are missing', () => {
    const { issuer: _i, ...noIssuer } = base();
    const { audience: _a, ...noAudience } = base();
    const { algorithms: _g, ...noAlgorithms } = base();
    expect(() => bearerAuth(noIssuer as BearerAuthOptions)).toThrow(TypeError);
    expect(() => bearerAuth(noAudience as BearerAuthOptions)).toThrow(TypeError);
    expect(() => bearerAuth(noAlgorithms as BearerAuthOptions)).toThrow(TypeError);
    expect(() => bearerAuth({ ...base(), algorithms: [] })).toThrow(TypeError);
    expect(() => bearerAuth({ ...base(), audience: [] })).toThrow(TypeError);
  });

  it('throws TypeError for none, symmetric algorithms, both or neither key sources and plain-http JWKS', () => {
    expect(() => bearerAuth({ ...base(), algorithms: ['none' as never] })).toThrow(TypeError);
    expect(() => bearerAuth({ ...base(), algorithms: ['HS256' as never] })).toThrow(TypeError);
    expect(() => bearerAuth({ ...base(), keys: issuer.jwks() })).toThrow(TypeError);
    const { jwksUri: _j, ...noKeys } = base();
    expect(() => bearerAuth(noKeys)).toThrow(TypeError);
    expect(() => bearerAuth({ ...base(), jwksUri: 'http://auth.example.com/jwks.json' })).toThrow(/https/);
    expect(() => bearerAuth({ ...base(), clockTolerance: -1 })).toThrow(TypeError);
    expect(() => bearerAuth({ ...base(), claims: { scopes: [] } })).toThrow(TypeError);
  });

  it('verifies with local public keys and refuses private or symmetric ones', async () => {
    const { jwksUri: _j, ...rest } = base();
    const verifier = bearerAuth({ ...rest, keys: issuer.jwks() });
    expect((await verifier.verify(await issuer.mintToken({ sub: 'local' }))).subject).toBe('local');
    expect(issuer.jwksRequests).toBe(0);
    expect(() => bearerAuth({ ...rest, keys: [{ kty: 'oct', k: 'c2VjcmV0' }] })).toThrow(TypeError);
  });

  it('maps scp arrays, roles, tenant and client id, with configurable claim names', async () => {
    const token = await issuer.mintToken({
      sub: 'bob',
      scp: ['a', 'b'],
      scope: 'b c',
      roles: ['editor'],
      tenant: 'acme',
      azp: 'web-app',
    });
    expect(await bearerAuth(base()).verify(token)).toMatchObject({
      subject: 'bob',
      scopes: ['b', 'c', 'a'],
      roles: ['editor'],
      tenant: 'acme',
      clientId: 'web-app',
    });
    const custom = await issuer.mintToken({
      uid: 'u-9',
      perms: 'x y',
      groups: ['ops'],
      org: 'o-1',
      app: 'svc',
    });
    const mapped = await bearerAuth({
      ...base(),
      claims: { subject: 'uid', scopes: 'perms', roles: 'groups', tenant: 'org', clientId: 'app' },
    }).verify(custom);
    expect(mapped).toMatchObject({
      subject: 'u-9',
      scopes: ['x', 'y'],
      roles: ['ops'],
      tenant: 'o-1',
      clientId: 'svc',
    });
  });

  it('applies clockTolerance, maxTokenAge, requiredClaims and typ', async () => {
    const nowS = Math.floor(clock.now() / 1000);
    const justExpired = await issuer.mintToken({ exp: nowS - 5 });
    expect((await bearerAuth({ ...base(), clockTolerance: 30 }).verify(justExpired)).subject).toBe('user-1');
    const old = await issuer.mintToken({ iat: nowS - 7200, exp: nowS + 60 });
    await expectUnauthenticated(bearerAuth({ ...base(), maxTokenAge: 3600 }).verify(old));
    await expectUnauthenticated(
      bearerAuth({ ...base(), requiredClaims: ['tenant'] }).verify(await issuer.mintToken()),
    );
    await expectUnauthenticated(bearerAuth({ ...base(), typ: 'at+jwt' }).verify(await issuer.mintToken()));
    const at = await issuer.mintToken({}, { header: { typ: 'at+jwt' } });
    expect((await bearerAuth({ ...base(), typ: 'at+jwt' }).verify(at)).subject).toBe('user-1');
  });

  it('caches a verified token by digest but never past its exp', async () => {
    const verifier = bearerAuth(base());
    const token = await issuer.mintToken({}, { expiresIn: 30 });
    const first = await verifier.verify(token);
    expect(await verifier.verify(token)).toBe(first); // served from the cache: same object
    clock.advance(31_000);
    await expectUnauthenticated(verifier.verify(token), { reason: 'expired_credential' });
  });

  it('verifies a cold token once when many calls arrive together', async () => {
    const verifier = bearerAuth(base());
    const token = await issuer.mintToken({ sub: 'burst' });
    const principals = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token)));
    expect(new Set(principals).size).toBe(1);
    expect(issuer.jwksRequests).toBe(1);
  });

  it('keeps the cache bounded', async () => {
    const verifier = bearerAuth({ ...base(), cache: { maxEntries: 2 } });
    const tokens = await Promise.all([1, 2, 3].map((i) => issuer.mintToken({ sub: `s${i}` })));
    const firstPrincipal = await verifier.verify(tokens[0]!);
    await verifier.verify(tokens[1]!);
    await verifier.verify(tokens[2]!);
    const again = await verifier.verify(tokens[0]!); // evicted: verified afresh, new object
    expect(again).not.toBe(firstPrincipal);
    expect(again.subject).toBe('s1');
  });

  it('hides sensitive claims from serialisation but keeps them readable', async () => {
    const token = await issuer.mintToken({ email: 'alice@example.com', ssn: '123-45-6789' });
    const principal = await bearerAuth({ ...base(), sensitiveClaims: ['email', 'ssn'] }).verify(token);
    expect(principal.claims.email).toBe('alice@example.com');
    expect(JSON.stringify(principal)).not.toContain('alice@example.com');
    expect(JSON.stringify(principal)).not.toContain('123-45-6789');
    expect(Object.keys(principal.claims)).not.toContain('ssn');
  });

  it('keeps the token and its claims out of the refusal, even in cause (safe to log)', async () => {
    const token = await issuer.mintToken({ aud: 'https://other.example.com', email: 'dave@example.com' });
    const err = await expectUnauthenticated(bearerAuth(base()).verify(token), { credential: token });
    const logged = inspect(err, { depth: 10, showHidden: true });
    expect(logged).not.toContain('dave@example.com');
    expect(logged).not.toContain(token.split('.')[1]!.slice(0, 20));
    expect(logged).toContain('ERR_JWT_CLAIM_VALIDATION_FAILED'); // still useful to an operator
  });

  it('refuses a token in the query string at the HTTP edge', async () => {
    const token = await issuer.mintToken();
    const verifier = bearerAuth(base());
    await expectUnauthenticated(
      verifier.authenticateRequest({ headers: {}, url: `/mcp?access_token=${token}` }),
      {
        reason: 'token_in_query',
        credential: token,
      },
    );
    await expectUnauthenticated(
      verifier.authenticateRequest({
        headers: { authorization: `Bearer ${token}` },
        url: `/mcp?x=1&token=${token}`,
      }),
      { reason: 'token_in_query' },
    );
  });

  it('answers a missing or malformed Authorization header with the right challenge', async () => {
    const verifier = bearerAuth({
      ...base(),
      challenge: { resourceMetadataUrl: METADATA, scopes: ['notes:read'] },
    });
    const missing = await expectUnauthenticated(verifier.authenticateRequest({ headers: {} }), {
      reason: 'missing_credential',
    });
    expect(missing.httpHeaders?.['WWW-Authenticate']).toBe(
      `Bearer resource_metadata="${METADATA}", scope="notes:read"`,
    );
    const basic = await expectUnauthenticated(
      verifier.authenticateRequest({ headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
    );
    expect(basic.data?.reason).toBe('missing_credential');
    for (const authorization of ['Bearer', 'Bearer a b', 'Bearer not-a-jwt']) {
      const err = await expectUnauthenticated(verifier.authenticateRequest({ headers: { authorization } }));
      expect(err.data?.reason).toBe('malformed_credential');
      expect(err.httpHeaders?.['WWW-Authenticate']).toContain('error="invalid_token"');
    }
    const token = await issuer.mintToken();
    await expectUnauthenticated(
      verifier.authenticateRequest({ headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] } }),
      { reason: 'malformed_credential' },
    );
    const ok = await verifier.authenticateRequest({ headers: { authorization: `bearer ${token}` } });
    expect(ok?.subject).toBe('user-1');
  });

  it('reports JWKS readiness as a health check', async () => {
    const verifier = bearerAuth(base());
    const check = verifier.healthChecks?.find((c) => c.name === 'jwks');
    await expect(check!.check(AbortSignal.timeout(1000))).resolves.toBeUndefined();
    issuer.setAvailability('down');
    await expect(check!.check(AbortSignal.timeout(1000))).rejects.toThrow();
  });
});
