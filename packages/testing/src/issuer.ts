import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

/** Signing algorithms a {@link TestIssuer} can use. */
export type TestAlgorithm = 'ES256' | 'RS256';

/** How the JWKS endpoint of a {@link TestIssuer} behaves. */
export type JwksAvailability = 'up' | 'down' | 'hang';

/** One signing key of a {@link TestIssuer}. */
export interface TestKey {
  readonly kid: string;
  readonly alg: TestAlgorithm;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** Options of {@link createTestIssuer}. */
export interface TestIssuerOptions {
  /** Algorithm of the first key and of keys made by `rotateKeys()`; default `ES256`. */
  algorithm?: TestAlgorithm;
  /** Default `aud` of minted tokens; default `http://127.0.0.1/mcp` (override per token). */
  audience?: string | string[];
  /** Default token lifetime in seconds; default 300. */
  expiresIn?: number;
  /** Clock used for `iat`/`exp`, in epoch milliseconds; default `Date.now`. */
  now?: () => number;
}

/** Per-token options of {@link TestIssuer.mintToken}. */
export interface MintOptions {
  /** Sign with this key id (one of `issuer.keys`, even a removed one); default the current key. */
  kid?: string;
  /** Lifetime in seconds from `iat`; default the issuer's `expiresIn`. */
  expiresIn?: number;
  /** Leave out `exp` (for testing that such tokens are refused). */
  omitExp?: boolean;
  /** Extra protected header fields (`crit`, `typ`, ...). */
  header?: Record<string, unknown>;
  /** Leave out the `kid` header. */
  omitKid?: boolean;
}

/** A local OAuth token issuer with a real JWKS served over HTTP on 127.0.0.1; see {@link createTestIssuer}. */
export interface TestIssuer {
  /** The `iss` of minted tokens: the server's base URL (`http://127.0.0.1:<port>`). */
  readonly issuer: string;
  /** Where the JWKS is served. */
  readonly jwksUri: URL;
  /** Every key made so far, current last (removed keys included, so tests can sign with them). */
  readonly keys: readonly TestKey[];
  /** The key new tokens are signed with. */
  readonly currentKey: TestKey;
  /** How many times the JWKS was requested. */
  readonly jwksRequests: number;
  /** Signs a token with `claims` over defaults (`iss`, `aud`, `sub: 'user-1'`, `iat`, `exp`, `jti`). */
  mintToken(claims?: JWTPayload, options?: MintOptions): Promise<string>;
  /** Makes a new current key; the old one stays published unless `keepPrevious` is false. */
  rotateKeys(options?: { keepPrevious?: boolean; algorithm?: TestAlgorithm }): Promise<TestKey>;
  /** Stops publishing a key (tokens it signs can still be minted with `{ kid }`). */
  removeKey(kid: string): void;
  /** The published JWKS. */
  jwks(): { keys: JWK[] };
  /** Makes the JWKS endpoint answer normally, fail with 503, or never answer. */
  setAvailability(availability: JwksAvailability): void;
  /** Stops the HTTP server (hanging requests included). */
  close(): Promise<void>;
}

async function makeKey(alg: TestAlgorithm): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `${alg.toLowerCase()}-${randomUUID()}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

/**
 * Starts a local issuer: signing keys (ES256 or RS256), a real JWKS endpoint on 127.0.0.1 that
 * can rotate keys or go down, and token minting with chosen claims. Close it when done.
 *
 * @example
 * ```ts
 * import { createTestIssuer } from '@mcp-harden/testing';
 * const issuer = await createTestIssuer({ audience: 'https://mcp.example.com/mcp' });
 * const token = await issuer.mintToken({ sub: 'alice', scope: 'notes:read' });
 * // bearerAuth({ jwksUri: issuer.jwksUri, issuer: issuer.issuer, audience: ..., algorithms: ['ES256'] })
 * await issuer.close();
 * ```
 */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const algorithm = options.algorithm ?? 'ES256';
  const now = options.now ?? Date.now;
  const audience = options.audience ?? 'http://127.0.0.1/mcp';
  const defaultLifetime = options.expiresIn ?? 300;
  const keys: TestKey[] = [await makeKey(algorithm)];
  const published = new Set<string>([keys[0]!.kid]);
  let availability: JwksAvailability = 'up';
  let jwksRequests = 0;
  const hanging = new Set<ServerResponse>();

  const jwks = () => ({ keys: keys.filter((k) => published.has(k.kid)).map((k) => k.publicJwk) });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' || req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    jwksRequests++;
    if (availability === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (availability === 'down') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify(jwks()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  const find = (kid: string) => {
    const key = keys.find((k) => k.kid === kid);
    if (!key) throw new Error(`createTestIssuer: unknown kid ${kid}`);
    return key;
  };

  return {
    issuer: base,
    jwksUri: new URL('/jwks.json', base),
    get keys() {
      return [...keys];
    },
    get currentKey() {
      return keys.at(-1)!;
    },
    get jwksRequests() {
      return jwksRequests;
    },
    async mintToken(claims = {}, mint = {}) {
      const key = mint.kid === undefined ? keys.at(-1)! : find(mint.kid);
      const iat = Math.floor(now() / 1000);
      const payload: JWTPayload = {
        iss: base,
        aud: audience,
        sub: 'user-1',
        iat,
        jti: randomUUID(),
        ...(mint.omitExp ? {} : { exp: iat + (mint.expiresIn ?? defaultLifetime) }),
        ...claims,
      };
      const header = { alg: key.alg, typ: 'JWT', ...(mint.omitKid ? {} : { kid: key.kid }), ...mint.header };
      // jose refuses to sign unknown `crit` extensions unless told they are understood
      const crit = Array.isArray(mint.header?.crit)
        ? Object.fromEntries((mint.header.crit as string[]).map((name) => [name, true]))
        : undefined;
      return new SignJWT(payload)
        .setProtectedHeader(header as { alg: string })
        .sign(key.privateKey, crit ? { crit } : undefined);
    },
    async rotateKeys(rotate = {}) {
      const key = await makeKey(rotate.algorithm ?? algorithm);
      if (rotate.keepPrevious === false) published.clear();
      keys.push(key);
      published.add(key.kid);
      return key;
    },
    removeKey(kid) {
      find(kid);
      published.delete(kid);
    },
    jwks,
    setAvailability(next) {
      availability = next;
      if (next !== 'hang') for (const res of hanging) res.destroy();
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
