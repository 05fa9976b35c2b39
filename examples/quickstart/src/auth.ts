import { resourceMetadataUrl } from '@mcp-harden/auth';
import { createTestIssuer } from '@mcp-harden/testing';
import type { QuickstartConfig } from './config.js';

/** Scopes this server understands; `notes:write` implies `notes:read` (see the rbac hierarchy). */
export const SCOPES = ['notes:read', 'notes:write'] as const;

/** The two demo tenants. */
export const TENANTS = ['acme', 'globex'] as const;

/** The three demo personas of each tenant. */
export const PERSONAS = {
  reader: { scope: 'notes:read', roles: ['reader'] },
  writer: { scope: 'notes:write', roles: ['writer'] },
  admin: { scope: 'notes:read notes:write', roles: ['admin'] },
} as const;

export type Persona = keyof typeof PERSONAS;
export type Tenant = (typeof TENANTS)[number];

/** Ready-to-use development tokens, by tenant and persona. */
export type DevTokens = Record<Tenant, Record<Persona, string>>;

/** Who the server trusts: the identity provider of `MCP_AUTH_*`, or the embedded development issuer. */
export interface TrustSetup {
  /** `iss` the verifier trusts. */
  issuer: string;
  /** Where the issuer's public keys are. */
  jwksUrl: string;
  /** The resource identifier (RFC 8707 audience, RFC 9728 `resource`). */
  resource: string;
  resourceMetadataUrl: string;
  /** Only with the embedded development issuer. */
  devTokens: DevTokens | undefined;
  /**
   * The `${env:...}` values the policy file's `authentication.bearer` section names
   * (`MCP_AUTH_ISSUER`, `MCP_AUTH_AUDIENCE`, `MCP_AUTH_JWKS_URL`), for `loadPolicy({ env })`.
   */
  policyEnv: Record<string, string>;
  close(): Promise<void>;
}

/** Development tokens live for an hour: long enough to try things, short enough to be harmless. */
const DEV_TOKEN_SECONDS = 3600;

/**
 * Names the identity provider of `MCP_AUTH_*` (and nothing else), or, without it, starts a
 * development issuer on loopback and mints tokens for every persona of every tenant.
 */
export async function setUpTrust(config: QuickstartConfig, serverUrl: URL): Promise<TrustSetup> {
  const external = config.auth;
  const resource = external?.audience ?? serverUrl.href;
  // Clients find the metadata next to the public resource URL (behind a proxy, not our bind address).
  const metadataUrl = resourceMetadataUrl(URL.canParse(resource) ? resource : serverUrl.href).href;
  const dev = external
    ? undefined
    : await createTestIssuer({ audience: resource, expiresIn: DEV_TOKEN_SECONDS });
  const issuer = external?.issuer ?? dev!.issuer;
  const jwksUrl = external?.jwksUrl ?? dev!.jwksUri.href;
  let devTokens: DevTokens | undefined;
  if (dev) {
    const tokens = {} as DevTokens;
    for (const tenant of TENANTS) {
      tokens[tenant] = {} as Record<Persona, string>;
      for (const [persona, grant] of Object.entries(PERSONAS) as [Persona, (typeof PERSONAS)[Persona]][]) {
        tokens[tenant][persona] = await dev.mintToken({
          sub: `${tenant}-${persona}`,
          scope: grant.scope,
          roles: [...grant.roles],
          tenant,
        });
      }
    }
    devTokens = tokens;
  }
  return {
    issuer,
    jwksUrl,
    resource,
    resourceMetadataUrl: metadataUrl,
    devTokens,
    policyEnv: { MCP_AUTH_ISSUER: issuer, MCP_AUTH_AUDIENCE: resource, MCP_AUTH_JWKS_URL: jwksUrl },
    async close() {
      await dev?.close();
    },
  };
}
