import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { refuse } from './errors.js';
import { isLoopback, loopbackHosts, loopbackOrigins, OriginGuard } from './guards.js';
import { createMcpHandler, type McpHandler, type McpHandlerOptions, type ShutdownResult } from './handler.js';

/** RFC 9728 protected-resource metadata served at `/.well-known/oauth-protected-resource`. */
export interface ProtectedResourceMetadata {
  /** This server's resource identifier (its canonical URL). */
  resource: string;
  /** Issuers clients obtain tokens from. */
  authorization_servers: readonly string[];
  scopes_supported?: readonly string[];
  bearer_methods_supported?: readonly string[];
  resource_documentation?: string;
  [key: string]: unknown;
}

/** Options of graceful shutdown. */
export interface ShutdownOptions {
  /** Signals that start a graceful shutdown; defaults to none. `['SIGTERM', 'SIGINT']` for production. */
  signals?: readonly NodeJS.Signals[];
  /** How long in-flight calls may take to finish; defaults to 30,000 ms. */
  deadlineMs?: number;
  /** Exit the process after a signal-started shutdown (0 when drained and closed cleanly, 1 otherwise); defaults to true. */
  exit?: boolean;
}

/** Options of {@link serve}. */
export interface ServeOptions extends Omit<McpHandlerOptions, 'allowedHosts' | 'allowedOrigins'> {
  /** Bind address; defaults to `127.0.0.1`. */
  host?: string;
  /** Port; `0` (the default) picks a free one. */
  port?: number;
  /** Path of the MCP endpoint; defaults to `/mcp`. */
  path?: string;
  /**
   * Accepted `Host` values. Defaults, for a loopback bind, to `127.0.0.1:<port>`,
   * `localhost:<port>` and `[::1]:<port>`; for other binds, unchecked (use a gateway or set them).
   * `false` turns the check off.
   */
  allowedHosts?: readonly string[] | false;
  /** Accepted browser `Origin` values; same defaults as `allowedHosts`. `false` turns the check off. */
  allowedOrigins?: readonly string[] | false;
  /** Serves RFC 9728 metadata at `/.well-known/oauth-protected-resource` and `/.well-known/oauth-protected-resource<path>`. */
  protectedResourceMetadata?: ProtectedResourceMetadata;
  /** Time to receive all request headers; defaults to 10,000 ms (slow-header attacks get 408). */
  headersTimeoutMs?: number;
  /** Time to receive a whole request; defaults to 30,000 ms. */
  requestTimeoutMs?: number;
  /** Idle keep-alive socket lifetime; defaults to 5,000 ms. */
  keepAliveTimeoutMs?: number;
  /** How often the header and request time-outs are enforced; defaults to 1,000 ms. */
  timeoutCheckIntervalMs?: number;
  /** Graceful shutdown. */
  shutdown?: ShutdownOptions;
}

/** A running server; see {@link serve}. */
export interface ServedMcp {
  /** URL of the MCP endpoint. */
  readonly url: URL;
  readonly port: number;
  /** The `node:http` server. */
  readonly server: HttpServer;
  /** The MCP handler (readiness, active requests, sessions). */
  readonly handler: McpHandler;
  /** Drains in-flight calls, closes servers and middleware, then stops listening. */
  close(options?: { deadlineMs?: number }): Promise<ShutdownResult>;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new TypeError(`serve: ${name} must be a positive number`);
  return value;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/**
 * Serves a hardened MCP server over Streamable HTTP on `node:http`, with `/health`,
 * `/ready`, optional protected-resource metadata, limits and graceful shutdown.
 *
 * @example
 * ```ts
 * import { serve, timeout } from '@mcp-harden/http';
 * const served = await serve({
 *   mode: 'stateless',
 *   createServer: () => hardened,
 *   port: 3000,
 *   shutdown: { signals: ['SIGTERM', 'SIGINT'], deadlineMs: 20_000 },
 * });
 * console.log(`MCP on ${served.url}`);
 * ```
 */
export async function serve(options: ServeOptions): Promise<ServedMcp> {
  if (!options || typeof options !== 'object') throw new TypeError('serve: options are required');
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/mcp';
  if (!path.startsWith('/')) throw new TypeError('serve: path must start with "/"');
  const requestedPort = options.port ?? 0;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535)
    throw new TypeError('serve: invalid port');
  const metadata = options.protectedResourceMetadata;
  if (
    metadata !== undefined &&
    (typeof metadata.resource !== 'string' || !Array.isArray(metadata.authorization_servers))
  ) {
    throw new TypeError('serve: protectedResourceMetadata needs resource and authorization_servers');
  }
  const headersTimeout = positive('headersTimeoutMs', options.headersTimeoutMs, 10_000);
  const requestTimeout = positive('requestTimeoutMs', options.requestTimeoutMs, 30_000);
  const keepAliveTimeout = positive('keepAliveTimeoutMs', options.keepAliveTimeoutMs, 5_000);
  const checkInterval = positive('timeoutCheckIntervalMs', options.timeoutCheckIntervalMs, 1_000);
  const deadlineMs = positive('shutdown.deadlineMs', options.shutdown?.deadlineMs, 30_000);
  const signals = options.shutdown?.signals ?? [];

  let handler: McpHandler | undefined;
  let guard: OriginGuard | undefined;
  const metadataPaths = new Set([
    '/.well-known/oauth-protected-resource',
    `/.well-known/oauth-protected-resource${path}`,
  ]);

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const mcp = handler;
    if (!mcp || !guard) {
      refuse(res, 'ERR_UNAVAILABLE', 'Starting');
      return;
    }
    if (mcp.draining) res.setHeader('connection', 'close');
    const url = req.url ?? '/';
    const pathname = url.split('?', 1)[0]!;
    if (pathname === path) return mcp(req, res);
    // The probes and metadata get the same Host/Origin check as the MCP route.
    if (guard.check(req)) {
      refuse(res, 'ERR_FORBIDDEN', 'Host not allowed', { connection: 'close' });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      refuse(res, 'ERR_NOT_FOUND', 'Not found');
      return;
    }
    if (pathname === '/health') return json(res, 200, { status: 'ok' });
    if (pathname === '/ready') {
      // Draining answers at once, without waiting for checks.
      if (mcp.draining) return json(res, 503, { status: 'draining', checks: [] });
      const report = await mcp.readiness();
      return json(res, report.status === 'ready' ? 200 : 503, report);
    }
    if (metadata && metadataPaths.has(pathname)) {
      return json(res, 200, metadata, { 'access-control-allow-origin': '*' });
    }
    refuse(res, 'ERR_NOT_FOUND', 'Not found');
  };

  const server = createServer(
    { headersTimeout, requestTimeout, keepAliveTimeout, connectionsCheckingInterval: checkInterval },
    (req, res) => {
      route(req, res).catch((err) => {
        options.onError?.(err);
        if (!res.headersSent) refuse(res, 'ERR_INTERNAL', 'Internal error');
        else res.destroy();
      });
    },
  );
  // Malformed requests and time-outs: answer without detail and close.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const reason =
      status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(requestedPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const loopback = isLoopback(host);
  const hosts =
    options.allowedHosts === false
      ? undefined
      : (options.allowedHosts ?? (loopback ? loopbackHosts(port) : undefined));
  const origins =
    options.allowedOrigins === false
      ? undefined
      : (options.allowedOrigins ?? (loopback ? loopbackOrigins(port) : undefined));
  try {
    handler = createMcpHandler({ ...options, allowedHosts: hosts, allowedOrigins: origins });
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
  guard = new OriginGuard(hosts, origins);
  const mcp = handler;

  let closing: Promise<ShutdownResult> | undefined;
  const close = (closeOptions: { deadlineMs?: number } = {}) => {
    closing ??= (async () => {
      const draining = mcp.shutdown({ deadlineMs: closeOptions.deadlineMs ?? deadlineMs });
      server.closeIdleConnections();
      const result = await draining;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      for (const s of signals) process.off(s, onSignal);
      return result;
    })();
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      // A second signal while draining: give up at once.
      if (options.shutdown?.exit !== false) process.exit(1);
      return;
    }
    void close().then(
      (result) => {
        const code = result.drained && result.closed ? 0 : 1;
        if (options.shutdown?.exit !== false) process.exit(code);
        else process.exitCode = code;
      },
      () => {
        if (options.shutdown?.exit !== false) process.exit(1);
        else process.exitCode = 1;
      },
    );
    void signal;
  };
  for (const s of signals) process.on(s, onSignal);

  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { url: new URL(`http://${shownHost}:${port}${path}`), port, server, handler: mcp, close };
}
