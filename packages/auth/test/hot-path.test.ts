import { compose, createContext, type HardenError, isHardenError, type Principal } from '@mcp-harden/core';
import { seededRandom } from '@mcp-harden/test-services';
import { createFakeClock, createTestIssuer, type FakeClock, type TestIssuer } from '@mcp-harden/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerCandidate } from '../src/authenticator.js';
import { ExpiringCache } from '../src/cache.js';
import { unauthenticated } from '../src/challenge.js';
import { type Authenticator, bearerAuth, type HeadersLike } from '../src/index.js';

const AUDIENCE = 'https://mcp.example.com/mcp';
const METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';
const BEARER = /^bearer[ ]+([^\s]+)[ ]*$/i;
const JWS_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Generated inputs from a seed, so a failure can be replayed. */
function random(seed: number) {
  const next = seededRandom(seed);
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
  };
}

/** The recency cache as it was: every hit moves the entry to the end. */
class ReferenceCache<V> {
  readonly entries = new Map<string, { value: V; expiresAt: number }>();
  constructor(
    readonly maxEntries: number,
    readonly now: () => number,
  ) {}
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }
  set(key: string, value: V, expiresAt: number): void {
    if (this.maxEntries <= 0 || expiresAt <= this.now()) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expiresAt });
  }
}

describe('verified-token cache', () => {
  it('evicts in exactly the least-recently-used order of an always-bump cache', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = random(seed);
      let now = 1_000;
      const clock = () => now;
      const maxEntries = 1 + r.int(6);
      const fast = new ExpiringCache<number>(maxEntries, clock);
      const reference = new ReferenceCache<number>(maxEntries, clock);
      for (let step = 0; step < 400; step++) {
        const key = `k${r.int(10)}`;
        const op = r.int(10);
        if (op < 4) {
          const expiresAt = now + r.int(50) - 5;
          fast.set(key, step, expiresAt);
          reference.set(key, step, expiresAt);
        } else if (op < 9) {
          expect(fast.get(key)).toBe(reference.get(key));
        } else {
          now += r.int(20);
        }
        expect(fast.keys()).toEqual([...reference.entries.keys()]);
      }
    }
  });
});

describe('bearer token of an Authorization value', () => {
  const pieces = {
    scheme: [
      'Bearer',
      'bearer',
      'BEARER',
      'bEaReR',
      'Basic',
      'Bearerx',
      'Beare',
      'Bearer\u00a0',
      'bearer\t',
      'Bearér',
      '',
    ],
    gap: ['', ' ', '  ', '\t', ' \t', '\u00a0', '\n', '   '],
    token: [
      'a.b.c',
      'eyJ.eyJ.sig_-',
      'x',
      'a b',
      'a\tb',
      'tok\u00a0en',
      'tøken',
      'a.b.',
      '..',
      'a,b',
      '\u3000',
      '\ufeffx',
      '',
      'Bearer',
    ],
    tail: ['', ' ', '   ', '\t', '\n', ' x', '\u2028', ' \u00a0'],
  };

  it('takes the token the full parse takes, whenever that parse finds one', () => {
    const r = random(7);
    for (let i = 0; i < 20_000; i++) {
      const value = r.pick(pieces.scheme) + r.pick(pieces.gap) + r.pick(pieces.token) + r.pick(pieces.tail);
      const match = BEARER.exec(value);
      if (match) expect(bearerCandidate(value)).toBe(match[1]);
    }
  });

  it('takes nothing the full parse would refuse, for any token shaped like a JWS (what the cache holds)', () => {
    const r = random(11);
    const chars = 'aZ09_-. \t\u00a0\u2028Bbé';
    for (let i = 0; i < 20_000; i++) {
      let value = r.pick(pieces.scheme) + r.pick(pieces.gap);
      const n = r.int(12);
      for (let j = 0; j < n; j++) value += chars[r.int(chars.length)];
      value += r.pick(pieces.tail);
      const candidate = bearerCandidate(value);
      if (candidate !== undefined && JWS_SHAPE.test(candidate))
        expect(BEARER.exec(value)?.[1]).toBe(candidate);
    }
  });
});

type Outcome =
  | { ok: true; principal: Principal | undefined }
  | { ok: false; code: string; message: string; reason: unknown; challenge: string | undefined };

async function outcomeOf(run: () => Promise<Principal | undefined>): Promise<Outcome> {
  try {
    return { ok: true, principal: await run() };
  } catch (err) {
    if (!isHardenError(err)) throw err;
    const e = err as HardenError;
    return {
      ok: false,
      code: e.code,
      message: e.message,
      reason: e.data?.reason,
      challenge: e.httpHeaders?.['WWW-Authenticate'],
    };
  }
}

/** What an authenticator did before the cached-token shortcut: find, check the shape, verify. */
function straightforward(auth: Authenticator, headers: HeadersLike): Promise<Principal | undefined> {
  return (async () => {
    const found = auth.find(headers);
    if (found === undefined) throw unauthenticated('missing_credential', auth.challenge(false));
    if (!auth.accepts(found.credential)) throw unauthenticated('malformed_credential', auth.challenge(true));
    return auth.verify(found.credential);
  })();
}

describe('bearerAuth with a warm cache', () => {
  let issuer: TestIssuer;
  let clock: FakeClock;
  let auth: Authenticator;
  let tokens: string[];

  beforeAll(async () => {
    clock = createFakeClock();
    issuer = await createTestIssuer({ audience: AUDIENCE, now: clock.now });
    auth = bearerAuth({
      jwksUri: issuer.jwksUri,
      issuer: issuer.issuer,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      clock: clock.now,
      maxCredentialBytes: 2048,
      challenge: { resourceMetadataUrl: METADATA, scopes: ['notes:read'] },
    });
    tokens = [
      await issuer.mintToken({ sub: 'alice', scope: 'notes:read' }),
      await issuer.mintToken({ sub: 'bob', pad: 'p'.repeat(700) }, { expiresIn: 30 }),
      await issuer.mintToken({ sub: 'carol' }),
    ];
    // the first two are cached; the third is valid but never verified before
    await auth.verify(tokens[0]!);
    await auth.verify(tokens[1]!);
  });
  afterAll(async () => {
    await issuer.close();
  });

  function headerValues(seed: number, count: number): Array<string | string[] | undefined> {
    const r = random(seed);
    // mostly well-formed, so that about half the headers carry a cached token
    const often = <T>(usual: readonly T[], rare: readonly T[]) =>
      r.int(4) === 0 ? r.pick(rare) : r.pick(usual);
    const schemes = [
      ['Bearer', 'bearer', 'BeArEr'],
      ['Bearer\t', 'Bearerx', 'Basic', 'Bearer\u00a0', ''],
    ] as const;
    const gaps = [
      [' ', '  '],
      ['', '\t', ' \u3000', ' '.repeat(700)],
    ] as const;
    const tails = [
      ['', ' ', '  '],
      ['\t', ' x', '\u00a0', '\n', ' '.repeat(700)],
    ] as const;
    const variants = (t: string) => [
      t.slice(0, -1),
      `${t}x`,
      t.replace('.', ' .'),
      t.replace('.', '\u00a0'),
      `${t} ${t}`,
      t.toUpperCase(),
      `${t}${'a'.repeat(1400)}`,
    ];
    const out: Array<string | string[] | undefined> = [
      undefined,
      [],
      // a cached token in a header longer than the limit allows: refused before any look-up
      `Bearer ${tokens[0]}${' '.repeat(2100)}`,
      `Bearer${' '.repeat(2100)}${tokens[0]}`,
    ];
    for (let i = 0; i < count; i++) {
      const token = r.pick(tokens);
      const value = often(...schemes) + often(...gaps) + often([token], variants(token)) + often(...tails);
      const kind = r.int(12);
      out.push(kind === 0 ? [value] : kind === 1 ? [value, value] : value);
    }
    return out;
  }

  it('answers every generated Authorization header as the straightforward path does', async () => {
    for (const value of headerValues(3, 600)) {
      const headers = value === undefined ? {} : { authorization: value };
      const expected = await outcomeOf(() => straightforward(auth, headers));
      expect(await outcomeOf(() => auth.authenticateRequest({ headers }))).toEqual(expected);
      const ctx = createContext({ method: 'tools/list', request: { transport: 'http', headers } });
      const viaMiddleware = await outcomeOf(async () => {
        await compose([auth])(ctx, async () => ({}));
        return ctx.principal;
      });
      expect(viaMiddleware).toEqual(expected);
      if (expected.ok) {
        // the very same (frozen) object as the cache holds
        expect(viaMiddleware.ok && viaMiddleware.principal).toBe(expected.principal);
        expect(ctx.state.authentication).toEqual({ method: 'jwt', anonymous: false });
      }
    }
  });

  it('refuses a cached token once it has expired, on the shortcut as on the full path', async () => {
    const headers = { authorization: `Bearer ${tokens[1]}` };
    const before = await auth.authenticateRequest({ headers });
    expect(before?.subject).toBe('bob');
    clock.advance(31_000);
    const expected = await outcomeOf(() => straightforward(auth, headers));
    expect(expected).toMatchObject({ ok: false, code: 'ERR_UNAUTHENTICATED', reason: 'expired_credential' });
    expect(await outcomeOf(() => auth.authenticateRequest({ headers }))).toEqual(expected);
    const ctx = createContext({ method: 'tools/list', request: { transport: 'http', headers } });
    expect(
      await outcomeOf(async () => {
        await compose([auth])(ctx, async () => ({}));
        return ctx.principal;
      }),
    ).toEqual(expected);
  });
});
