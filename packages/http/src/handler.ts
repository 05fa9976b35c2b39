import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toAuthInfo } from '@mcp-harden/auth';
import {
  closeAll,
  HardenError,
  type HealthCheck,
  isHardenError,
  type Middleware,
  type Principal,
  reportEarlyRefusal,
} from '@mcp-harden/core';
import type { HardenedSendOptions, HardenedServer } from '@mcp-harden/sdk';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  type MessageExtraInfo,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import { readBody } from './body.js';
import { refuse, writeProtocolError, writeRefusal } from './errors.js';
import { type CorsOptions, checkCors, corsHeaders, OriginGuard } from './guards.js';
import { MultiplexTransport } from './multiplex.js';
import { memorySessionStore, type SessionRecord, type SessionStore } from './sessions.js';

/** Any hardened server of `@mcp-harden/sdk`. */
export type AnyHardenedServer =
  | HardenedServer<McpServer>
  | HardenedServer<Server>
  | HardenedServer<McpServer | Server>;

/** Authenticates an HTTP request at the edge; resolves `undefined` when it carries no credential. */
export type Authenticator = (req: IncomingMessage) => Promise<Principal | undefined>;

/** Stateful-mode options. */
export interface SessionOptions {
  /** A session unused this long is closed on this replica (and expires in the store); defaults to 30 minutes. */
  idleTimeoutMs?: number;
  /** Where sessions are recorded; defaults to process memory. Use `redisSessionStore` across replicas. */
  store?: SessionStore;
  /** Enables resumable SSE streams (`Last-Event-ID`); use `redisEventStore` across replicas. */
  eventStore?: EventStore;
  /** `retry` (ms) sent with SSE priming events, so clients poll back after the server closes a stream (SEP-1699). */
  retryIntervalMs?: number;
  /** Sessions open on this replica at most; defaults to 10,000 (further `initialize` get 503). */
  maxSessions?: number;
}

/** Options of {@link createMcpHandler}. */
export interface McpHandlerOptions {
  /**
   * Builds a hardened server. Stateless mode calls it once; stateful mode once per session.
   * Share the middleware instances between calls: they are closed once, at shutdown.
   */
  createServer: () => AnyHardenedServer;
  /** `stateless` (one long-lived server, JSON responses) or `stateful` (a server per session, SSE). */
  mode: 'stateless' | 'stateful';
  /**
   * Authenticates every MCP request before it is read. The principal reaches the pipeline as
   * the SDK's `authInfo` (`{ token: '', clientId, scopes, expiresAt, extra: { principal } }`,
   * read it from `ctx.request.authInfo`). Resolving `undefined` answers 401.
   */
  authenticate?: Authenticator;
  /** RFC 9728 metadata URL put in `WWW-Authenticate` challenges (401 and 403 insufficient_scope). */
  resourceMetadataUrl?: string;
  /** Largest accepted request body; defaults to 1 MiB. Larger bodies get 413 before parsing. */
  maxBodyBytes?: number;
  /** MCP requests handled at once at most; defaults to 1,000. Further ones get 503. */
  maxConcurrentRequests?: number;
  /** Accepted `Host` header values (`host:port`). Unset: not checked (`serve()` sets loopback values for loopback binds). */
  allowedHosts?: readonly string[];
  /** Accepted `Origin` values for browser requests. Unset: not checked (`serve()` sets loopback values for loopback binds). */
  allowedOrigins?: readonly string[];
  /** CORS for browser clients; listed origins are also accepted by the Origin check. */
  cors?: CorsOptions;
  /** HTTP statuses a pipeline refusal of a single-request POST is answered with; defaults to 401, 403, 429. Others answer 200 with the JSON-RPC error. */
  refusalStatuses?: readonly number[];
  /** Stateful-mode settings. */
  session?: SessionOptions;
  /** Extra readiness checks (a probe tool call, a database) run by `/ready` with those of the middleware. */
  healthChecks?: readonly HealthCheck[];
  /** Time limit of one readiness check; defaults to 2,000 ms. */
  readyTimeoutMs?: number;
  /** Called with unexpected errors (never sent to clients); defaults to `console.error`. */
  onError?: (error: unknown) => void;
}

/** Result of one readiness check. */
export interface CheckReport {
  name: string;
  status: 'pass' | 'fail';
  latencyMs: number;
}

/** Body of `/ready`. */
export interface ReadinessReport {
  status: 'ready' | 'not-ready' | 'draining';
  checks: CheckReport[];
}

/** Outcome of {@link McpHandler.shutdown}. */
export interface ShutdownResult {
  /** Every in-flight request finished before the deadline. */
  drained: boolean;
  /** Servers and middleware closed without error. */
  closed: boolean;
}

/** A request handler for `node:http`, Express, Hono on node or Fastify (`reply.raw`). */
export interface McpHandler {
  (req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<void>;
  /** MCP HTTP requests being handled. */
  readonly activeRequests: number;
  /** Sessions open on this replica (stateful mode). */
  readonly sessions: number;
  /** True once draining started: new MCP requests get 503. */
  readonly draining: boolean;
  /** Runs every readiness check (middleware, session store, user). */
  readiness(): Promise<ReadinessReport>;
  /** Stops accepting MCP requests, waits for in-flight ones up to `deadlineMs`, then closes servers and middleware. */
  shutdown(options?: { deadlineMs?: number }): Promise<ShutdownResult>;
}

interface Session {
  readonly id: string;
  readonly hardened: AnyHardenedServer;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  subject: string | undefined;
  lastSeen: number;
  active: number;
  record?: SessionRecord;
  savedAt: number;
}

const DEFAULT_REFUSAL_STATUSES = [401, 403, 429];

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`createMcpHandler: ${name} must be a positive number`);
  }
  return value;
}

function quoted(value: string): string {
  return value.replace(/["\\\r\n]/g, '');
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function plainHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Passes everything through, and aborts the handler via `notifications/cancelled` when the pipeline timed a call out. */
class CancelOnTimeout implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;
  constructor(readonly inner: WebStandardStreamableHTTPServerTransport) {}
  get sessionId() {
    return this.inner.sessionId;
  }
  setProtocolVersion(version: string) {
    (this.inner as Transport).setProtocolVersion?.(version);
  }
  async start() {
    this.inner.onmessage = (m, e) => this.onmessage?.(m, e);
    this.inner.onerror = (e) => this.onerror?.(e);
    this.inner.onclose = () => this.onclose?.();
    await this.inner.start();
  }
  close() {
    return this.inner.close();
  }
  async send(message: JSONRPCMessage, options?: TransportSendOptions) {
    const refusal = (options as HardenedSendOptions | undefined)?.refusal;
    if (refusal?.error.code === 'ERR_TIMEOUT' && 'id' in message && message.id !== null) {
      this.onmessage?.({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: message.id, reason: 'timed out' },
      });
    }
    return this.inner.send(message, options);
  }
}

/**
 * Creates the MCP endpoint handler: Streamable HTTP in stateless or stateful mode behind edge
 * authentication, Host/Origin checks, CORS, body and concurrency limits, with readiness and
 * graceful shutdown. `serve()` wraps it in a `node:http` server with `/health` and `/ready`.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createMcpHandler } from '@mcp-harden/http';
 * const mcp = createMcpHandler({ mode: 'stateless', createServer: () => hardened });
 * const app = express();
 * app.all('/mcp', (req, res) => mcp(req, res));
 * ```
 */
export function createMcpHandler(options: McpHandlerOptions): McpHandler {
  if (!options || typeof options.createServer !== 'function') {
    throw new TypeError('createMcpHandler: createServer must be a function returning a hardened server');
  }
  if (options.mode !== 'stateless' && options.mode !== 'stateful') {
    throw new TypeError('createMcpHandler: mode must be "stateless" or "stateful"');
  }
  if (options.authenticate !== undefined && typeof options.authenticate !== 'function') {
    throw new TypeError('createMcpHandler: authenticate must be a function');
  }
  if (options.resourceMetadataUrl !== undefined) new URL(options.resourceMetadataUrl);
  checkCors(options.cors);
  const maxBody = positive('maxBodyBytes', options.maxBodyBytes, 1_048_576);
  const maxConcurrent = positive('maxConcurrentRequests', options.maxConcurrentRequests, 1000);
  const idleTimeout = positive('session.idleTimeoutMs', options.session?.idleTimeoutMs, 30 * 60_000);
  const maxSessions = positive('session.maxSessions', options.session?.maxSessions, 10_000);
  const readyTimeout = positive('readyTimeoutMs', options.readyTimeoutMs, 2000);
  const refusalStatuses = new Set(options.refusalStatuses ?? DEFAULT_REFUSAL_STATUSES);
  const onError = options.onError ?? ((e: unknown) => console.error('[mcp-harden/http]', e));
  const allowedOrigins =
    options.allowedOrigins || options.cors
      ? [...(options.allowedOrigins ?? []), ...(options.cors?.origins ?? [])]
      : undefined;
  const guard = new OriginGuard(options.allowedHosts, allowedOrigins);
  const store = options.session?.store ?? memorySessionStore();
  const eventStore = options.session?.eventStore;

  const middleware = new Set<Middleware>();
  const servers = new Set<AnyHardenedServer>();
  const build = (): AnyHardenedServer => {
    const hardened = options.createServer();
    if (!hardened || typeof hardened.connect !== 'function' || !Array.isArray(hardened.middleware)) {
      throw new TypeError('createMcpHandler: createServer must return the result of harden()');
    }
    for (const m of hardened.middleware) middleware.add(m);
    servers.add(hardened);
    return hardened;
  };

  // Stateless: one server and one multiplexing transport for the life of the handler.
  let multiplex: MultiplexTransport | undefined;
  let connecting: Promise<void> | undefined;
  // Stateful: built now so that /ready knows the middleware before the first session; used by it.
  let spare: AnyHardenedServer | undefined = build();
  if (options.mode === 'stateless') {
    multiplex = new MultiplexTransport();
    const hardened = spare;
    spare = undefined;
    connecting = hardened.connect(multiplex, { kind: 'http' });
    connecting.catch(onError);
  }

  const sessions = new Map<string, Session>();
  const restoring = new Map<string, Promise<Session | undefined>>();
  let active = 0;
  let draining = false;
  const idleWaiters: Array<() => void> = [];

  const sweeper =
    options.mode === 'stateful'
      ? setInterval(
          () => {
            const now = Date.now();
            for (const s of sessions.values()) {
              if (s.active === 0 && now - s.lastSeen > idleTimeout) void closeSession(s, false);
            }
          },
          Math.min(60_000, Math.max(1000, idleTimeout / 2)),
        )
      : undefined;
  sweeper?.unref();

  async function closeSession(session: Session, forget: boolean): Promise<void> {
    if (sessions.get(session.id) !== session) return;
    sessions.delete(session.id);
    servers.delete(session.hardened);
    if (forget) await store.remove(session.id).catch(onError);
    await session.transport.close().catch(onError);
    // Only the server: the middleware is shared and closed once, at shutdown.
    await session.hardened.server.close().catch(onError);
  }

  async function newSession(id: string | undefined): Promise<Session> {
    const hardened = spare ?? build();
    spare = undefined;
    let session: Session | undefined;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id ?? randomUUID(),
      eventStore,
      ...(options.session?.retryIntervalMs === undefined
        ? {}
        : { retryInterval: options.session.retryIntervalMs }),
      onsessioninitialized: (sid) => {
        if (session) {
          (session as { id: string }).id = sid;
          sessions.set(sid, session);
        }
      },
      onsessionclosed: async (sid) => {
        const s = sessions.get(sid);
        if (s) await closeSession(s, true);
        else await store.remove(sid).catch(onError);
      },
    });
    session = {
      id: '',
      hardened,
      transport,
      subject: undefined,
      lastSeen: Date.now(),
      active: 0,
      savedAt: 0,
    };
    await hardened.connect(new CancelOnTimeout(transport), { kind: 'http' });
    return session;
  }

  /** Rebuilds a session another replica created: a fresh server is initialized with the recorded params. */
  async function restore(id: string, record: SessionRecord): Promise<Session> {
    const session = await newSession(id);
    const base = 'http://localhost/mcp';
    const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
    const init = await session.transport.handleRequest(
      new Request(base, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: record.initialize }),
      }),
    );
    await init.text();
    if (init.status !== 200 || session.transport.sessionId !== id)
      throw new Error(`session restore failed (${init.status})`);
    const protocolVersion =
      typeof record.initialize.protocolVersion === 'string' ? record.initialize.protocolVersion : undefined;
    const initialized = await session.transport.handleRequest(
      new Request(base, {
        method: 'POST',
        headers: {
          ...headers,
          'mcp-session-id': id,
          ...(protocolVersion && SUPPORTED_PROTOCOL_VERSIONS.includes(protocolVersion)
            ? { 'mcp-protocol-version': protocolVersion }
            : {}),
        },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      }),
    );
    await initialized.text();
    session.subject = record.subject;
    session.record = record;
    session.savedAt = Date.now();
    return session;
  }

  async function findSession(id: string): Promise<Session | undefined> {
    const local = sessions.get(id);
    if (local) return local;
    let pending = restoring.get(id);
    if (!pending) {
      pending = (async () => {
        const record = await store.load(id);
        if (!record) return undefined;
        if (sessions.size >= maxSessions) throw new HardenError('ERR_UNAVAILABLE', 'Too many sessions');
        return restore(id, record);
      })();
      restoring.set(id, pending);
      pending.finally(() => restoring.delete(id)).catch(() => {});
    }
    return pending;
  }

  function challenge(error: HardenError): Record<string, string> {
    if (error.httpHeaders?.['WWW-Authenticate'] || error.httpHeaders?.['www-authenticate']) return {};
    const metadata = options.resourceMetadataUrl
      ? `, resource_metadata="${quoted(options.resourceMetadataUrl)}"`
      : '';
    if (error.code === 'ERR_UNAUTHENTICATED') {
      return { 'www-authenticate': `Bearer${metadata ? ` ${metadata.slice(2)}` : ''}` };
    }
    if (error.code === 'ERR_INSUFFICIENT_SCOPE') {
      const required = error.data?.requiredScopes;
      const scope = Array.isArray(required) ? required.filter((s) => typeof s === 'string').join(' ') : '';
      return { 'www-authenticate': `Bearer error="insufficient_scope", scope="${quoted(scope)}"${metadata}` };
    }
    return {};
  }

  /** Refusals at the edge never reach the chain: tell its middleware (audit, telemetry) anyway. */
  function reportEdgeRefusal(req: IncomingMessage, error: HardenError): void {
    const session = headerOf(req, 'mcp-session-id');
    reportEarlyRefusal(middleware, {
      error,
      source: 'http',
      method: undefined,
      requestId: undefined,
      sessionId: session,
      request: { transport: 'http', headers: plainHeaders(req), remoteAddress: req.socket.remoteAddress },
    });
  }

  function refuseWith(res: ServerResponse, error: unknown, base: Record<string, string>): void {
    if (isHardenError(error)) {
      writeRefusal(res, error as HardenError, { ...base, ...challenge(error as HardenError) });
      return;
    }
    onError(error);
    refuse(res, 'ERR_INTERNAL', 'Internal error', base);
  }

  async function authenticate(req: IncomingMessage): Promise<AuthInfo | undefined> {
    if (!options.authenticate) return undefined;
    const principal = await options.authenticate(req);
    if (!principal) throw new HardenError('ERR_UNAUTHENTICATED', 'Authentication required');
    return toAuthInfo(principal) as AuthInfo;
  }

  async function handleStateless(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    authInfo: AuthInfo | undefined,
    base: Record<string, string>,
  ): Promise<void> {
    if (req.method !== 'POST') {
      writeProtocolError(res, 405, -32000, 'Method not allowed: this server is stateless', {
        ...base,
        allow: 'POST',
      });
      return;
    }
    const accept = headerOf(req, 'accept') ?? '';
    if (!accept.includes('application/json') && !accept.includes('*/*')) {
      writeProtocolError(res, 406, -32000, 'Not Acceptable: Client must accept application/json', base);
      return;
    }
    const version = headerOf(req, 'mcp-protocol-version');
    if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      writeProtocolError(res, 400, -32000, 'Bad Request: Unsupported protocol version', base);
      return;
    }
    const raw = Array.isArray(body) ? body : [body];
    if (raw.length === 0 || raw.length > 100) {
      writeProtocolError(res, 400, -32600, 'Invalid Request: batch must hold 1 to 100 messages', base);
      return;
    }
    const messages: JSONRPCMessage[] = [];
    for (const item of raw) {
      const parsed = JSONRPCMessageSchema.safeParse(item);
      if (!parsed.success) {
        writeProtocolError(res, 400, -32600, 'Invalid Request: not a JSON-RPC message', base);
        return;
      }
      messages.push(parsed.data);
    }
    await connecting;
    let cancel: (() => void) | undefined;
    const onClose = () => {
      if (!res.writableFinished) cancel?.();
    };
    res.once('close', onClose);
    const extra: MessageExtraInfo = {
      // remoteAddress is read by @mcp-harden/sdk for ctx.request.remoteAddress (telemetry's client.address).
      requestInfo: {
        headers: plainHeaders(req),
        remoteAddress: req.socket.remoteAddress,
      } as MessageExtraInfo['requestInfo'],
      ...(authInfo ? { authInfo } : {}),
    };
    const exchange = multiplex!.dispatch(messages, extra);
    cancel = exchange.cancel;
    const answers = await exchange.answers;
    res.off('close', onClose);
    if (res.destroyed) return;
    if (answers.length === 0) {
      res.writeHead(202, base).end();
      return;
    }
    const single = answers.length === 1 && !Array.isArray(body) ? answers[0]! : undefined;
    let status = 200;
    let headers: Record<string, string> = { ...base, 'content-type': 'application/json' };
    if (single?.refusal && refusalStatuses.has(single.refusal.status)) {
      status = single.refusal.status;
      headers = { ...headers, ...single.refusal.headers, ...challenge(single.refusal.error) };
    }
    const text = JSON.stringify(single ? single.message : answers.map((a) => a.message));
    res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  async function handleStateful(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    authInfo: AuthInfo | undefined,
    base: Record<string, string>,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      writeProtocolError(res, 405, -32000, 'Method not allowed', { ...base, allow: 'GET, POST, DELETE' });
      return;
    }
    const sessionId = headerOf(req, 'mcp-session-id');
    const subject = (authInfo?.extra?.principal as Principal | undefined)?.subject;
    const initialize =
      method === 'POST' &&
      !Array.isArray(body) &&
      (body as { method?: unknown } | undefined)?.method === 'initialize'
        ? ((body as { params?: unknown }).params as Record<string, unknown> | undefined)
        : undefined;
    let session: Session | undefined;
    if (sessionId === undefined) {
      if (!initialize || typeof initialize !== 'object') {
        writeProtocolError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required', base);
        return;
      }
      if (sessions.size >= maxSessions) {
        refuse(res, 'ERR_UNAVAILABLE', 'Too many sessions', { ...base, 'retry-after': '5' });
        return;
      }
      session = await newSession(undefined);
      session.subject = subject;
    } else {
      session = await findSession(sessionId);
      // Another principal's session looks exactly like an unknown one.
      if (!session || session.subject !== subject) {
        writeProtocolError(res, 404, -32001, 'Session not found', base);
        return;
      }
    }
    session.active++;
    session.lastSeen = Date.now();
    try {
      const url = `http://${headerOf(req, 'host') ?? 'localhost'}${req.url ?? '/'}`;
      const gone = new AbortController();
      res.once('close', () => gone.abort());
      const webRequest = new Request(url, { method, headers: plainHeaders(req), signal: gone.signal });
      const response = await session.transport.handleRequest(webRequest, {
        ...(body === undefined ? {} : { parsedBody: body }),
        ...(authInfo ? { authInfo } : {}),
      });
      if (initialize && response.status === 200 && session.transport.sessionId) {
        session.record = { initialize, ...(subject ? { subject } : {}) };
        session.savedAt = Date.now();
        await store.save(session.transport.sessionId, session.record, idleTimeout);
      } else if (
        session.record &&
        method === 'POST' &&
        Date.now() - session.savedAt > Math.min(60_000, idleTimeout / 4)
      ) {
        // Refreshes the store's expiry now and then, not on every request.
        session.savedAt = Date.now();
        void store.save(session.id, session.record, idleTimeout).catch(onError);
      }
      if (!sessions.has(session.transport.sessionId ?? '') && initialize && response.status !== 200) {
        await session.hardened.server.close().catch(onError);
        servers.delete(session.hardened);
      }
      await writeWeb(res, response, base);
    } finally {
      session.active--;
      session.lastSeen = Date.now();
    }
  }

  const handler = async function mcpHandler(req: IncomingMessage, res: ServerResponse, parsedBody?: unknown) {
    const base = corsHeaders(options.cors, req) ?? {};
    const denied = guard.check(req);
    if (denied) {
      refuse(res, 'ERR_FORBIDDEN', denied === 'host' ? 'Host not allowed' : 'Origin not allowed', {
        connection: 'close',
      });
      return;
    }
    if (req.method === 'OPTIONS') {
      if (!base['access-control-allow-origin']) refuse(res, 'ERR_FORBIDDEN', 'Origin not allowed');
      else res.writeHead(204, base).end();
      return;
    }
    if (draining) {
      refuse(res, 'ERR_UNAVAILABLE', 'Server is shutting down', {
        ...base,
        connection: 'close',
        'retry-after': '1',
      });
      return;
    }
    const counted = req.method !== 'GET';
    if (counted && active >= maxConcurrent) {
      reportEdgeRefusal(req, new HardenError('ERR_UNAVAILABLE', 'Too many concurrent requests'));
      refuse(res, 'ERR_UNAVAILABLE', 'Too many concurrent requests', { ...base, 'retry-after': '1' });
      return;
    }
    if (counted) active++;
    let released = !counted;
    const release = () => {
      if (released) return;
      released = true;
      active--;
      if (active === 0) for (const wake of idleWaiters.splice(0)) wake();
    };
    res.once('close', release);
    try {
      let authInfo: AuthInfo | undefined;
      try {
        authInfo = await authenticate(req);
      } catch (err) {
        if (isHardenError(err)) reportEdgeRefusal(req, err as HardenError);
        refuseWith(res, err, base);
        return;
      }
      let body = parsedBody;
      if (body === undefined && req.method === 'POST') {
        const ct = headerOf(req, 'content-type') ?? '';
        if (!/^application\/json\s*(;|$)/i.test(ct)) {
          writeProtocolError(
            res,
            415,
            -32000,
            'Unsupported Media Type: Content-Type must be application/json',
            base,
          );
          return;
        }
        const read = await readBody(req, maxBody);
        if (!read.ok) {
          if (read.reason === 'too-large') {
            reportEdgeRefusal(req, new HardenError('ERR_PAYLOAD_TOO_LARGE'));
            refuse(res, 'ERR_PAYLOAD_TOO_LARGE', `Request body exceeds ${maxBody} bytes`, {
              ...base,
              connection: 'close',
            });
          } else res.destroy();
          return;
        }
        try {
          body = JSON.parse(read.body.toString('utf8'));
        } catch {
          writeProtocolError(res, 400, -32700, 'Parse error: Invalid JSON', base);
          return;
        }
      }
      if (options.mode === 'stateless') await handleStateless(req, res, body, authInfo, base);
      else await handleStateful(req, res, body, authInfo, base);
    } catch (err) {
      if (!res.headersSent) refuseWith(res, err, base);
      else {
        onError(err);
        res.destroy();
      }
    } finally {
      if (res.writableFinished || res.destroyed) release();
    }
  } as McpHandler;

  async function runCheck(check: HealthCheck): Promise<CheckReport> {
    const started = performance.now();
    const signal = AbortSignal.timeout(readyTimeout);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => check.check(signal)),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), readyTimeout);
        }),
      ]);
      return { name: check.name, status: 'pass', latencyMs: Math.round(performance.now() - started) };
    } catch {
      return { name: check.name, status: 'fail', latencyMs: Math.round(performance.now() - started) };
    } finally {
      clearTimeout(timer);
    }
  }

  Object.defineProperties(handler, {
    activeRequests: { get: () => active },
    sessions: { get: () => sessions.size },
    draining: { get: () => draining },
  });

  handler.readiness = async () => {
    const checks = new Set<HealthCheck>();
    for (const m of middleware) for (const c of m.healthChecks ?? []) checks.add(c);
    for (const c of store.healthChecks ?? []) checks.add(c);
    for (const c of (eventStore as { healthChecks?: HealthCheck[] } | undefined)?.healthChecks ?? [])
      checks.add(c);
    for (const c of options.healthChecks ?? []) checks.add(c);
    const reports = await Promise.all([...checks].map(runCheck));
    const status = draining ? 'draining' : reports.every((r) => r.status === 'pass') ? 'ready' : 'not-ready';
    return { status, checks: reports };
  };

  let shuttingDown: Promise<ShutdownResult> | undefined;
  handler.shutdown = (shutdownOptions = {}) => {
    draining = true;
    shuttingDown ??= (async () => {
      const deadlineMs = positive('deadlineMs', shutdownOptions.deadlineMs, 30_000);
      let timer: NodeJS.Timeout | undefined;
      const inFlight = Promise.all([
        active === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)),
        ...[...servers].map((s) => s.idle()),
      ]).then(() => true);
      const drained = await Promise.race([
        inFlight,
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), deadlineMs);
        }),
      ]);
      clearTimeout(timer);
      if (sweeper) clearInterval(sweeper);
      let closed = true;
      for (const session of [...sessions.values()]) await closeSession(session, false);
      if (multiplex) await multiplex.close().catch(() => (closed = false));
      for (const s of servers) await s.server.close().catch(() => (closed = false));
      try {
        await closeAll([...middleware]);
      } catch (err) {
        onError(err);
        closed = false;
      }
      return { drained, closed };
    })();
    return shuttingDown;
  };

  return handler;
}

/** Writes a web-standard Response to a node response, streaming SSE bodies as they come. */
async function writeWeb(
  res: ServerResponse,
  response: Response,
  base: Record<string, string>,
): Promise<void> {
  const headers: Record<string, string> = { ...base };
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  res.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value))
        await new Promise<void>((resolve) => {
          const go = () => {
            res.off('close', go);
            res.off('drain', go);
            resolve();
          };
          res.once('drain', go);
          res.once('close', go);
        });
      if (res.destroyed) break;
    }
  } catch {
    // The client went away or the stream was cancelled.
  } finally {
    res.off('close', cancel);
    if (!res.destroyed) res.end();
  }
}
