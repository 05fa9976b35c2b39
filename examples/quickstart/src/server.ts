import { mkdirSync, readFileSync } from 'node:fs';
import { createServer as createNetServer, isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AuditEvent, type AuditMiddleware, postgresSink } from '@mcp-harden/audit';
import type { Middleware } from '@mcp-harden/core';
import { type ServedMcp, serve } from '@mcp-harden/http';
import { fromPolicy, type LoadedPolicy, loadPolicy } from '@mcp-harden/policy';
import { harden } from '@mcp-harden/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { type TracerProvider, trace } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type DevTokens, SCOPES, setUpTrust, type TrustSetup } from './auth.js';
import type { QuickstartConfig } from './config.js';
import { NoteStore, registerNotes } from './notes.js';

/**
 * The reviewed policy file of the quickstart, `policy.yaml` next to `package.json` (the same path
 * from `src/` and from the built `dist/`).
 */
export const POLICY_FILE = fileURLToPath(new URL('../policy.yaml', import.meta.url));

/** Options that are code, not configuration. */
export interface StartOptions {
  /** Where spans go; defaults to the global OpenTelemetry provider (a no-op until you register an SDK). */
  tracerProvider?: TracerProvider;
  /** Start-up and edge-refusal lines; defaults to stderr. */
  log?: (line: string) => void;
  /** The policy file when `config.policyFile` (`POLICY_FILE`) is unset; defaults to {@link POLICY_FILE}. */
  policyFile?: string;
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
}

/**
 * Loads the policy file. Code fills in what only it knows, as the `${env:...}` values the file
 * names: the trusted issuer (external or development) and the audit paths under `AUDIT_DIR`.
 */
async function loadQuickstartPolicy(
  config: QuickstartConfig,
  trust: TrustSetup,
  file: string,
): Promise<LoadedPolicy> {
  const dir = resolve(config.auditDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return loadPolicy(file, {
    env: {
      ...process.env,
      ...trust.policyEnv,
      QUICKSTART_AUDIT_FILE: join(dir, 'audit.log'),
      // Events that cannot be delivered yet wait here, and are replayed, even by the next process.
      QUICKSTART_AUDIT_SPILL_DIR: join(dir, 'spill'),
    },
  });
}

/**
 * With `DATABASE_URL`: a PostgreSQL audit sink, which needs a connection pool and so cannot live
 * in the file. It replaces the file's sinks; the file's spill directory and settings stay.
 */
async function postgresAudit(databaseUrl: string) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  pool.on('error', () => {}); // an idle connection dropped; the sink retries and reports through audit
  try {
    const sink = postgresSink({ pool });
    await sink.migrate();
    return {
      sink,
      /** The trail fromPolicy built around the sink, read back from the table. */
      setup(trail: AuditMiddleware): AuditSetup {
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
        };
      },
      close: () => pool.end(),
    };
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
}

/** The audit trail the file describes (built by `fromPolicy`), read back from its file sink. */
function fileAudit(policy: LoadedPolicy, trail: AuditMiddleware): AuditSetup {
  const file = policy.effective.audit?.sinks.find((s) => s.type === 'file');
  if (file?.type !== 'file') {
    throw new TypeError(`${policy.filename}: the quickstart needs an audit section with a file sink`);
  }
  return {
    trail,
    sink: file.path,
    async read(since) {
      await trail.flush();
      return readFileSync(file.path, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => (JSON.parse(line) as { event: AuditEvent }).event)
        .filter((event) => Date.parse(event.time) >= since.getTime());
    },
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
    const trust = await setUpTrust(config, url);
    started.push(() => trust.close());

    const redis = config.redisUrl
      ? new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
      : undefined;
    if (redis) {
      redis.on('error', () => {}); // failures are counted by the limiter; ioredis reconnects
      started.push(() => redis.quit());
      await connected(redis, 5_000, log);
    }

    // Who may call what, limits, redaction, telemetry, audit and the trusted issuer: the file.
    const policy = await loadQuickstartPolicy(
      config,
      trust,
      config.policyFile ?? options.policyFile ?? POLICY_FILE,
    );
    const pgAudit = config.databaseUrl ? await postgresAudit(config.databaseUrl) : undefined;
    if (pgAudit) started.push(() => pgAudit.close());
    const tracerProvider = options.tracerProvider ?? trace.getTracerProvider();
    // Code supplies only what the file cannot hold: the challenge (it names this server's URL),
    // the PostgreSQL sink, the Redis client and the tracer provider.
    const pipeline = fromPolicy(policy, {
      challenge: { resourceMetadataUrl: trust.resourceMetadataUrl, scopes: ['notes:read'] },
      ...(pgAudit ? { auditSinks: [pgAudit.sink], replaceAuditSinks: true } : {}),
      ...(redis ? { redis: { client: redis } } : {}),
      telemetry: { tracerProvider },
    });
    const auth = pipeline.parts.authentication;
    const trail = pipeline.parts.audit;
    if (!auth || !trail) {
      throw new TypeError(`${policy.filename}: the quickstart needs authentication and audit sections`);
    }
    trailToClose = trail;
    const auditSetup = pgAudit ? pgAudit.setup(trail) : fileAudit(policy, trail);
    // Outermost first: audit, telemetry, auth, rbac, rate limit, sanitize.
    const middleware: Middleware[] = pipeline.use;

    // Stateless mode builds the server once; every request shares it and the middleware.
    const store = new NoteStore();
    const createServer = () => {
      const { name, version } = policy.effective.server;
      const server = new McpServer({ name, version });
      // The file's per-target policies (rate limits, redaction) are declared by name.
      const hardened = harden(server, { use: middleware, policies: pipeline.policies });
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
      authenticate: (req) => auth.authenticateRequest(req),
      resourceMetadataUrl: trust.resourceMetadataUrl,
      protectedResourceMetadata: {
        resource: trust.resource,
        authorization_servers: [trust.issuer],
        scopes_supported: [...SCOPES],
        bearer_methods_supported: ['header'],
      },
    });
    trailToClose = undefined;
    log(`mcp-harden quickstart on ${served.url.href} (audit: ${auditSetup.sink})`);

    return {
      url: served.url,
      issuer: trust.issuer,
      devTokens: trust.devTokens,
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
