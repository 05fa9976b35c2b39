import type { IncomingMessage } from 'node:http';

/** CORS configuration. Browsers are refused unless their origin is listed. */
export interface CorsOptions {
  /** Allowed origins, exact (`https://app.example.com`). `*` is refused at construction. */
  origins: readonly string[];
  /** Extra request headers a browser may send (the MCP headers are always allowed). */
  allowHeaders?: readonly string[];
  /** Preflight cache lifetime; defaults to 600 seconds. */
  maxAgeSeconds?: number;
  /** Whether to allow credentials (cookies); defaults to false. */
  credentials?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** True when `host` (a bind address) is a loopback address. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

/** The Host header values a loopback bind on `port` accepts. */
export function loopbackHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
}

/** The Origins a loopback bind on `port` accepts (a browser page served by this same host). */
export function loopbackOrigins(port: number): string[] {
  return loopbackHosts(port).flatMap((h) => [`http://${h}`, `https://${h}`]);
}

/** Decides Host and Origin checks against DNS rebinding. */
export class OriginGuard {
  readonly #hosts: Set<string> | undefined;
  readonly #origins: Set<string> | undefined;

  constructor(hosts: readonly string[] | undefined, origins: readonly string[] | undefined) {
    this.#hosts = hosts ? new Set(hosts.map((h) => h.toLowerCase())) : undefined;
    this.#origins = origins ? new Set(origins.map((o) => o.toLowerCase())) : undefined;
  }

  /** `undefined` when allowed, otherwise which check failed. */
  check(req: IncomingMessage): 'host' | 'origin' | undefined {
    if (this.#hosts) {
      const host = req.headers.host;
      if (typeof host !== 'string' || !this.#hosts.has(host.toLowerCase())) return 'host';
    }
    const origin = req.headers.origin;
    // Requests without Origin are not from a browser page: DNS rebinding needs a browser.
    if (origin !== undefined && this.#origins && !this.#origins.has(String(origin).toLowerCase()))
      return 'origin';
    return undefined;
  }
}

const MCP_HEADERS = [
  'content-type',
  'accept',
  'authorization',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
];

/** Computes CORS response headers; `undefined` when the request carries no allowed Origin. */
export function corsHeaders(
  cors: CorsOptions | undefined,
  req: IncomingMessage,
): Record<string, string> | undefined {
  const origin = req.headers.origin;
  if (!cors || typeof origin !== 'string' || !cors.origins.includes(origin)) return undefined;
  const headers: Record<string, string> = {
    'access-control-allow-origin': origin,
    vary: 'Origin',
    'access-control-expose-headers': 'mcp-session-id, mcp-protocol-version, www-authenticate, retry-after',
  };
  if (cors.credentials) headers['access-control-allow-credentials'] = 'true';
  if (req.method === 'OPTIONS') {
    headers['access-control-allow-methods'] = 'GET, POST, DELETE, OPTIONS';
    headers['access-control-allow-headers'] = [...MCP_HEADERS, ...(cors.allowHeaders ?? [])].join(', ');
    headers['access-control-max-age'] = String(cors.maxAgeSeconds ?? 600);
  }
  return headers;
}

/** Validates CORS options at construction. */
export function checkCors(cors: CorsOptions | undefined): void {
  if (cors === undefined) return;
  if (!Array.isArray(cors.origins)) throw new TypeError('cors.origins must be an array of origins');
  for (const o of cors.origins) {
    if (o === '*') throw new TypeError('cors.origins must list origins; "*" is not allowed');
    if (typeof o !== 'string' || !/^https?:\/\/[^/]+$/.test(o))
      throw new TypeError(`cors.origins: invalid origin ${String(o)}`);
  }
}
