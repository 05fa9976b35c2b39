import { createLocalJWKSet, type JSONWebKeySet, type JWSHeaderParameters, errors as joseErrors } from 'jose';

/** How remote JWKS keys are fetched and cached. */
export interface JwksOptions {
  /** Time-out of one JWKS request, ms. Default 5000. */
  timeoutMs?: number;
  /** Least time between two fetches (unknown `kid`, failed fetch), ms. Default 30000. */
  cooldownMs?: number;
  /** How long fetched keys are used before they are fetched again, ms. Default 600000 (10 min). */
  cacheMaxAgeMs?: number;
  /** Largest JWKS document accepted, bytes. Default 262144. */
  maxResponseBytes?: number;
}

type KeyResolver = ReturnType<typeof createLocalJWKSet>;
type ResolvedKey = Awaited<ReturnType<KeyResolver>>;

/** Loopback hosts may use plain HTTP (tests, sidecars); everything else must be HTTPS. */
export function checkSecureUrl(value: string | URL, where: string): URL {
  let url: URL;
  try {
    url = new URL(value.toString());
  } catch {
    throw new TypeError(`${where} must be an absolute URL`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError(`${where} must use https (plain http is only allowed on loopback)`);
  }
  return url;
}

function checkDuration(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new TypeError(`bearerAuth: jwks.${name} must be a non-negative number`);
  return value;
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new Error('JWKS response too large');
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new Error('JWKS response too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Keys of a remote JWKS: fetched on first use, kept `cacheMaxAgeMs`, fetched again on an
 * unknown `kid` at most once per `cooldownMs` (also after a failure, so a dead or hanging
 * endpoint costs one time-out per cooldown, not one per request). Keys already held keep
 * working while the endpoint is down, until the cache is past its age and a fetch succeeds
 * without them.
 */
export class RemoteJwks {
  readonly #url: URL;
  readonly #timeoutMs: number;
  readonly #cooldownMs: number;
  readonly #maxAgeMs: number;
  readonly #maxBytes: number;
  readonly #now: () => number;
  #resolver: KeyResolver | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | undefined;
  /** Fetches made (successful or not); for tests and metrics. */
  fetches = 0;

  constructor(url: URL, options: JwksOptions, now: () => number) {
    this.#url = url;
    this.#timeoutMs = checkDuration(options.timeoutMs, 5000, 'timeoutMs');
    this.#cooldownMs = checkDuration(options.cooldownMs, 30_000, 'cooldownMs');
    this.#maxAgeMs = checkDuration(options.cacheMaxAgeMs, 600_000, 'cacheMaxAgeMs');
    this.#maxBytes = checkDuration(options.maxResponseBytes, 262_144, 'maxResponseBytes');
    this.#now = now;
  }

  get #coolingDown(): boolean {
    return this.#now() - this.#attemptedAt < this.#cooldownMs;
  }

  /** Fetches the JWKS now (deduplicated with a fetch already running). */
  refresh(): Promise<void> {
    if (this.#pending) return this.#pending;
    this.#attemptedAt = this.#now();
    this.fetches++;
    const run = (async () => {
      const response = await fetch(this.#url, {
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'manual',
        headers: { accept: 'application/jwk-set+json, application/json' },
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`JWKS endpoint answered ${response.status}`);
      }
      const jwks = JSON.parse(await readCapped(response, this.#maxBytes)) as JSONWebKeySet;
      const resolver = createLocalJWKSet(jwks); // validates the document shape
      this.#resolver = resolver;
      this.#fetchedAt = this.#now();
    })();
    this.#pending = run.finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** The key for a JWS header, in the form `jwtVerify` takes. */
  readonly getKey = async (
    header: JWSHeaderParameters,
    token: Parameters<KeyResolver>[1],
  ): Promise<ResolvedKey> => {
    const stale = this.#now() - this.#fetchedAt >= this.#maxAgeMs;
    if (this.#resolver === undefined || stale) {
      if (!this.#coolingDown || this.#pending) {
        try {
          await this.refresh();
        } catch (err) {
          if (this.#resolver === undefined) throw new JwksUnavailable(err);
          // stale keys keep serving while the endpoint is down
        }
      } else if (this.#resolver === undefined) {
        throw new JwksUnavailable(undefined);
      }
    }
    const resolver = this.#resolver!;
    try {
      return await resolver(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || this.#coolingDown) throw err;
      try {
        await this.refresh();
      } catch (cause) {
        throw new JwksUnavailable(cause);
      }
      return this.#resolver!(header, token);
    }
  };
}

/** The JWKS could not be fetched and no keys are held. */
export class JwksUnavailable extends Error {
  override readonly name = 'JwksUnavailable';
  constructor(cause: unknown) {
    super('JWKS unavailable', { cause });
  }
}
