import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock, createTestIssuer, type TestIssuer } from '../src/index.js';

describe('createTestIssuer', () => {
  let issuer: TestIssuer | undefined;
  afterEach(async () => {
    await issuer?.close();
    issuer = undefined;
  });

  it('serves a real JWKS on loopback that verifies the tokens it mints', async () => {
    issuer = await createTestIssuer({ audience: 'urn:test' });
    expect(issuer.jwksUri.hostname).toBe('127.0.0.1');
    const token = await issuer.mintToken({ sub: 'alice', scope: 'a b' });
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(issuer.jwksUri), {
      issuer: issuer.issuer,
      audience: 'urn:test',
      algorithms: ['ES256'],
    });
    expect(payload).toMatchObject({ sub: 'alice', scope: 'a b', iss: issuer.issuer });
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(protectedHeader.kid).toBe(issuer.currentKey.kid);
    expect(issuer.jwksRequests).toBe(1);
  });

  it('rotates and removes keys, and can sign with a removed key', async () => {
    issuer = await createTestIssuer({ algorithm: 'RS256' });
    const first = issuer.currentKey;
    const second = await issuer.rotateKeys();
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual([first.kid, second.kid]);
    issuer.removeKey(first.kid);
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual([second.kid]);
    const stale = await issuer.mintToken({}, { kid: first.kid });
    expect(decodeProtectedHeader(stale)).toMatchObject({ kid: first.kid, alg: 'RS256' });
    const third = await issuer.rotateKeys({ keepPrevious: false, algorithm: 'ES256' });
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual([third.kid]);
    expect(issuer.jwks().keys.every((k) => k.d === undefined)).toBe(true); // public keys only
  });

  it('simulates an endpoint that is down or hanging', async () => {
    issuer = await createTestIssuer();
    issuer.setAvailability('down');
    expect((await fetch(issuer.jwksUri)).status).toBe(503);
    issuer.setAvailability('hang');
    await expect(fetch(issuer.jwksUri, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    issuer.setAvailability('up');
    expect((await fetch(issuer.jwksUri)).status).toBe(200);
  });

  it('mints tokens without exp, with chosen headers, on a chosen clock', async () => {
    const clock = createFakeClock(1_700_000_000_000);
    issuer = await createTestIssuer({ now: clock.now, expiresIn: 60 });
    expect(decodeJwt(await issuer.mintToken({}, { omitExp: true })).exp).toBeUndefined();
    expect(decodeJwt(await issuer.mintToken()).iat).toBe(1_700_000_000);
    const critical = await issuer.mintToken({}, { header: { crit: ['x-ext'], 'x-ext': 1 }, omitKid: true });
    expect(decodeProtectedHeader(critical)).toMatchObject({ crit: ['x-ext'] });
    expect(decodeProtectedHeader(critical).kid).toBeUndefined();
  });
});

describe('createFakeClock', () => {
  it('moves only when told to', () => {
    const clock = createFakeClock(1000);
    expect(clock.now()).toBe(1000);
    clock.advance(500);
    expect(clock.now()).toBe(1500);
    clock.set(10);
    expect(clock.now()).toBe(10);
    expect(() => clock.advance(-1)).toThrow(TypeError);
    expect(() => createFakeClock(Number.NaN)).toThrow(TypeError);
  });
});
