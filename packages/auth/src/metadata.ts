import type { IncomingMessage, ServerResponse } from 'node:http';

/** Options of {@link protectedResourceMetadata} (RFC 9728 §2). */
export interface ProtectedResourceMetadataOptions {
  /** This server's resource identifier: the MCP endpoint URL (`https://mcp.example.com/mcp`). Required. */
  resource: string | URL;
  /** Issuer URLs of the authorization servers that issue tokens for it. Required, non-empty. */
  authorizationServers: readonly (string | URL)[];
  /** Scopes clients may request. */
  scopesSupported?: readonly string[];
  /** Human-readable name. */
  resourceName?: string;
  /** Documentation URL. */
  resourceDocumentation?: string | URL;
  /** Signing algorithms accepted for access tokens (informational). */
  signingAlgorithms?: readonly string[];
  /** Extra members (RFC 9728 allows extensions). Reserved members cannot be overridden. */
  extra?: Readonly<Record<string, unknown>>;
  /** `Cache-Control` of the document served by the handler; default `public, max-age=3600`. */
  cacheControl?: string;
}

/** The RFC 9728 protected-resource metadata document. */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: string[];
  scopes_supported?: string[];
  resource_name?: string;
  resource_documentation?: string;
  resource_signing_alg_values_supported?: string[];
  [extension: string]: unknown;
}

function absolute(value: string | URL, name: string): URL {
  try {
    const url = new URL(value.toString());
    if (url.hash) throw new TypeError(`${name} must not have a fragment`);
    return url;
  } catch (err) {
    if (err instanceof TypeError && err.message.includes('fragment')) throw err;
    throw new TypeError(`${name} must be an absolute URL`);
  }
}

/**
 * The URL of the metadata document for `resource` (RFC 9728 §3.1): the well-known path is
 * inserted between the host and the resource's path, `https://h/mcp` →
 * `https://h/.well-known/oauth-protected-resource/mcp`.
 *
 * @example
 * ```ts
 * resourceMetadataUrl('https://mcp.example.com/mcp').href;
 * // 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'
 * ```
 */
export function resourceMetadataUrl(resource: string | URL): URL {
  const url = absolute(resource, 'resource');
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return new URL(`/.well-known/oauth-protected-resource${path}${url.search}`, url.origin);
}

/**
 * Builds the protected-resource metadata document (RFC 9728) that tells MCP clients which
 * authorization server to use. Validates options and throws `TypeError` when they are wrong.
 *
 * @example
 * ```ts
 * protectedResourceMetadata({
 *   resource: 'https://mcp.example.com/mcp',
 *   authorizationServers: ['https://auth.example.com'],
 *   scopesSupported: ['notes:read', 'notes:write'],
 * });
 * ```
 */
export function protectedResourceMetadata(
  options: ProtectedResourceMetadataOptions,
): ProtectedResourceMetadata {
  if (!options || typeof options !== 'object')
    throw new TypeError('protectedResourceMetadata: options are required');
  const resource = absolute(options.resource, 'protectedResourceMetadata: resource');
  if (!Array.isArray(options.authorizationServers) || options.authorizationServers.length === 0) {
    throw new TypeError('protectedResourceMetadata: authorizationServers must list at least one issuer');
  }
  const servers = options.authorizationServers.map((s) => {
    absolute(s, 'protectedResourceMetadata: authorizationServers[]');
    return s.toString();
  });
  const scopes = options.scopesSupported;
  if (
    scopes !== undefined &&
    (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string' || /\s/.test(s)))
  ) {
    throw new TypeError('protectedResourceMetadata: scopesSupported must be scope tokens');
  }
  const document: ProtectedResourceMetadata = {
    ...options.extra,
    // the identifier exactly as configured: clients compare it with the URL they called
    resource: typeof options.resource === 'string' ? options.resource : resource.href,
    authorization_servers: servers,
    bearer_methods_supported: ['header'],
  };
  if (scopes) document.scopes_supported = [...scopes];
  if (options.resourceName) document.resource_name = options.resourceName;
  if (options.resourceDocumentation)
    document.resource_documentation = options.resourceDocumentation.toString();
  if (options.signingAlgorithms)
    document.resource_signing_alg_values_supported = [...options.signingAlgorithms];
  return document;
}

/**
 * A node:http request handler for the metadata routes: `/.well-known/oauth-protected-resource`
 * and its path-suffixed form for the resource (`/.well-known/oauth-protected-resource/mcp`).
 * Answers GET/HEAD (and CORS preflight) and returns `true` when it handled the request, `false`
 * for any other path, so it can sit in front of the MCP route or inside Express.
 *
 * @example
 * ```ts
 * const metadata = protectedResourceMetadataHandler({ resource, authorizationServers: [issuer] });
 * createServer((req, res) => {
 *   if (metadata(req, res)) return;
 *   // ... the MCP route
 * });
 * ```
 */
export function protectedResourceMetadataHandler(
  options: ProtectedResourceMetadataOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const document = protectedResourceMetadata(options);
  const body = JSON.stringify(document);
  const suffixed = resourceMetadataUrl(options.resource);
  const paths = new Set([suffixed.pathname, '/.well-known/oauth-protected-resource']);
  const cacheControl = options.cacheControl ?? 'public, max-age=3600';
  return function protectedResourceMetadataRoute(req, res) {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!paths.has(path)) return false;
    const cors = { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, HEAD, OPTIONS' };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'access-control-allow-headers': 'mcp-protocol-version' }).end();
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD, OPTIONS' }).end();
      return true;
    }
    res.writeHead(200, {
      ...cors,
      'content-type': 'application/json',
      'cache-control': cacheControl,
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
