import { isIP } from 'node:net';

/** External identity provider the server trusts (all three `MCP_AUTH_*` variables). */
export interface ExternalAuthConfig {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

/** Everything the quickstart reads from its environment, checked once at start-up. */
export interface QuickstartConfig {
  host: string;
  /** `0` picks a free port. */
  port: number;
  /** `MCP_AUTH_*`; undefined starts the embedded development issuer instead. */
  auth: ExternalAuthConfig | undefined;
  /** `notes_write` calls per principal per minute (`MCP_RATE_WRITE_PER_MIN`). */
  writesPerMinute: number;
  /** `REDIS_URL`: rate-limit budgets shared through Redis. */
  redisUrl: string | undefined;
  /** `DATABASE_URL`: audit events in PostgreSQL. */
  databaseUrl: string | undefined;
  /** `AUDIT_DIR`: where the hash-chained audit file (and the audit spill files) live. */
  auditDir: string;
  /** `POLICY_FILE`: the policy file to load instead of the example's `policy.yaml`. */
  policyFile: string | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || (isIP(host) === 4 && host.startsWith('127.'));
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`${name} must be an integer between ${min} and ${max}`);
  }
  return value;
}

/**
 * Reads the configuration from environment variables. Misconfiguration throws `TypeError`
 * before anything starts: a half-configured identity provider must not silently fall back to
 * the development issuer.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): QuickstartConfig {
  const jwksUrl = env.MCP_AUTH_JWKS_URL || undefined;
  const issuer = env.MCP_AUTH_ISSUER || undefined;
  const audience = env.MCP_AUTH_AUDIENCE || undefined;
  const given = [jwksUrl, issuer, audience].filter((v) => v !== undefined).length;
  if (given !== 0 && given !== 3) {
    throw new TypeError('Set all of MCP_AUTH_JWKS_URL, MCP_AUTH_ISSUER and MCP_AUTH_AUDIENCE, or none');
  }
  const host = env.HOST || '127.0.0.1';
  // The development issuer prints working tokens to the console: never expose it beyond loopback.
  if (given === 0 && !isLoopback(host)) {
    throw new TypeError(`HOST=${host} is not loopback: set MCP_AUTH_* to trust a real identity provider`);
  }
  return {
    host,
    port: integer(env, 'PORT', 3000, 0, 65_535),
    auth: given === 3 ? { jwksUrl: jwksUrl!, issuer: issuer!, audience: audience! } : undefined,
    writesPerMinute: integer(env, 'MCP_RATE_WRITE_PER_MIN', 10, 1, 100_000),
    redisUrl: env.REDIS_URL || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    auditDir: env.AUDIT_DIR || './data',
    policyFile: env.POLICY_FILE || undefined,
  };
}
