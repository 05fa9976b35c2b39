import { mkdirSync, readFileSync } from 'node:fs';
import { createServer as createNetServer, isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { type AuditEvent, type AuditMiddleware, audit, fileSink, postgresSink } from '@mcp-harden/audit';
import type { Middleware } from '@mcp-harden/core';
import { type ServedMcp, serve } from '@mcp-harden/http';
import { rateLimit } from '@mcp-harden/rate-limit';
import { rbac } from '@mcp-harden/rbac';
import { sanitize } from '@mcp-harden/sanitize';
import { harden } from '@mcp-harden/sdk';
import { telemetry } from '@mcp-harden/telemetry';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { type TracerProvider, trace } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type AuthSetup, type DevTokens, SCOPES, setUpAuth } from './auth.js';
import type { QuickstartConfig } from './config.js';
import { NOTE_RESOURCE_RULES, NoteStore, registerNotes } from './notes.js';

/** Options that are code, not configuration. */
export interface StartOptions {
  /** Where spans go; defaults to the global OpenTelemetry provider (a no-op until you register an SDK). */
  tracerProvider?: TracerProvider;
  /** Start-up and edge-refusal lines; defaults to stderr. */
  log?: (line: string) => void;
}

/** A running quickstart server. */
export interface RunningQuickstart {
  /** The MCP endpoint (`http://host:port/mcp`). */
  readonly url: URL;
  /** `iss` of the trusted issuer. */
  readonly issuer: string;
  /** Tokens for every persona of both tenants; only with the embedded development issuer. */
  readonly devTokens: DevTokens | undefined;
  /** Where audit events go: the chained file's path, or `postgresql`. */
  readonly auditSink: string;
  readonly served: ServedMcp;
  /** Delivers queued audit events, then reads back those recorded at or after `since`. */
  readAudit(since: Date): Promise<AuditEvent[]>;
  /** Drains in-flight calls, flushes the audit trail and stops everything the server started. */
  close(): Promise<void>;
}

/** Picks a free port up front: the token audience and metadata must name the final URL. */
async function freePort(host: string): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createNetServer();
    probe.once('error', fail);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Waits for the first Redis connection; past `ms` the limiter's in-memory insurance covers. */
async function connected(redis: Redis, ms: number, log: (line: string) => void): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((done) => {
    const timer = setTimeout(() => {
      log(`redis: not ready after ${ms} ms, limiting in memory until it is`);
      done();
    }, ms);
    redis.once('ready', () => {
      clearTimeout(timer);
      done();
    });
  });
}

interface AuditSetup {
  trail: AuditMiddleware;
  sink: string;
  read(since: Date): Promise<AuditEvent[]>;
  close(): Promise<void>;
}

async function setUpAudit(config: QuickstartConfig): Promise<AuditSetup> {
  const dir = resolve(config.auditDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Events that cannot be delivered yet wait here, and are replayed, even by the next process.
  const spillDir = join(dir, 'spill');
  if (config.databaseUrl) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 4 });
    pool.on('error', () => {}); // an idle connection dropped; the sink retries and reports through audit
    const sink = postgresSink({ pool });
    await sink.migrate();
    const trail = audit({ sinks: [sink], spillDir });
    return {
      trail,
      sink: 'postgresql',
      async read(since) {
        await trail.flush();
        const { rows } = await pool.query(
          'SELECT event FROM mcp_audit_events WHERE time >= $1 ORDER BY time, recorded_at',
          [since.toISOString()],
        );
        return rows.map((r) => (r as { event: AuditEvent }).event);
      },
      close: () => pool.end(),
    };
  }
  const path = join(dir, 'audit.log');
  const trail = audit({ sinks: [fileSink({ path })], spillDir });
  return {
    trail,
    sink: path,
    async read(since) {
      await trail.flush();
      return readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => (JSON.parse(line) as { event: AuditEvent }).event)
        .filter((event) => Date.parse(event.time) >= since.getTime());
    },
    close: async () => {},
  };
}

/**
 * Starts the quickstart: the notes server behind the full pipeline, over stateless Streamable
 * HTTP (so a refusal is a real HTTP status: 401, 403 insufficient_scope, 429 with Retry-After).
 */
export async function startQuickstart(
  config: QuickstartConfig,
  options: StartOptions = {},
): Promise<RunningQuickstart> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const port = config.port === 0 ? await freePort(config.host) : config.port;
  const hostInUrl = isIP(config.host) === 6 ? `[${config.host}]` : config.host;
  const url = new URL(`http://${hostInUrl}:${port}/mcp`);

  const started: Array<() => Promise<unknown>> = [];
  const stopStarted = async () => {
    for (const stop of started.reverse()) await stop().catch(() => {});
  };
  let trailToClose: AuditMiddleware | undefined;
  try {
    const authSetup: AuthSetup = await setUpAuth(config, url);
    started.push(() => authSetup.close());

    const redis = config.redisUrl
      ? new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
      : undefined;
    if (redis) {
      redis.on('error', () => {}); // failures are counted by the limiter; ioredis reconnects
      started.push(() => redis.quit());
      await connected(redis, 5_000, log);
    }

    const auditSetup = await setUpAudit(config);
    started.push(() => auditSetup.close());
    trailToClose = auditSetup.trail;

    const tracerProvider = options.tracerProvider ?? trace.getTracerProvider();
    // Outermost first: audit and telemetry see every refusal of the middleware inside them.
    const middleware: Middleware[] = [
      auditSetup.trail,
      telemetry({ tracerProvider }),
      authSetup.auth,
      rbac({
        scopeHierarchy: { 'notes:write': ['notes:read'] },
        resources: NOTE_RESOURCE_RULES, // tools and the prompt carry their rules in withPolicy()
        // Tell a caller which scope it lacks, so its client can ask for it (step-up).
        revealRequiredScopes: true,
      }),
      rateLimit({
        // A ceiling on everything a principal does; notes_write has its own tighter budget below.
        limits: { principal: { points: 300, duration: 60 } },
        redis: redis ? { client: redis } : undefined,
      }),
      sanitize({}),
    ];

    // Stateless mode builds the server once; every request shares it and the middleware.
    const store = new NoteStore();
    const createServer = () => {
      const server = new McpServer({ name: 'mcp-harden-quickstart', version: '0.1.0' });
      const hardened = harden(server, { use: middleware });
      registerNotes(hardened, store, {
        tracer: tracerProvider.getTracer('quickstart-notes'),
        writesPerMinute: config.writesPerMinute,
      });
      return hardened;
    };

    const served = await serve({
      mode: 'stateless',
      createServer,
      host: config.host,
      port,
      // Verify the bearer token before the body is read: no valid token, 401 with a challenge.
      authenticate: (req) => authSetup.auth.authenticateRequest(req),
      resourceMetadataUrl: authSetup.resourceMetadataUrl,
      protectedResourceMetadata: {
        resource: authSetup.resource,
        authorization_servers: [authSetup.issuer],
        scopes_supported: [...SCOPES],
        bearer_methods_supported: ['header'],
      },
    });
    trailToClose = undefined;
    log(`mcp-harden quickstart on ${served.url.href} (audit: ${auditSetup.sink})`);

    return {
      url: served.url,
      issuer: authSetup.issuer,
      devTokens: authSetup.devTokens,
      auditSink: auditSetup.sink,
      served,
      readAudit: (since) => auditSetup.read(since),
      async close() {
        // Drains calls, then closes the server and every middleware once (the audit trail flushes).
        await served.close();
        await stopStarted();
      },
    };
  } catch (err) {
    // Only reached before serve() owns the middleware: close the audit trail here.
    await trailToClose?.close().catch(() => {});
    await stopStarted();
    throw err;
  }
}
