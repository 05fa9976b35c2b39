import { randomUUID } from 'node:crypto';
import {
  defineMiddleware,
  type HardenContext,
  type HealthCheck,
  type McpResult,
  type Middleware,
} from '@mcp-harden/core';
import { argumentsDigest } from './canonical.js';
import { SinkChannel } from './dispatcher.js';
import { buildEarlyRefusalEvent, buildEvent, DEFAULT_REDACT_KEYS, type Observation } from './event.js';
import type { AuditEvent, AuditSink, SinkStats } from './types.js';

/**
 * Options of {@link audit}.
 *
 * @example
 * ```ts
 * const options: AuditOptions = { sinks: [stdoutSink()], spillDir: './audit-spill', batchSize: 200 };
 * ```
 */
export interface AuditOptions {
  /** Where events go; at least one. Names must be unique and filename-safe (`[A-Za-z0-9._-]`). */
  sinks: readonly AuditSink[];
  /**
   * Directory for spill files (`<sink>.spill.jsonl`): events a sink cannot take right now, replayed
   * when it is back, also by the next process. Required: it must survive restarts (not a tmpfs).
   */
  spillDir: string;
  /** Events held in memory per sink before further events go straight to the spill file. Default 10,000. */
  maxQueue?: number;
  /** Events per `write()` call. Default 100. */
  batchSize?: number;
  /** Attempts per batch before spilling, with exponential back-off between them. */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** How often a down sink is retried from its spill file. Default 5,000 ms. */
  replayIntervalMs?: number;
  /**
   * `'redacted'` records the arguments as the inner chain left them (after `sanitize`), with
   * sensitive keys and credential-like values replaced. Default `false`: only the digest.
   */
  includeArguments?: false | 'redacted';
  /**
   * Key for `hmac-sha256:` argument digests instead of plain `sha256:`; use it when arguments can
   * be low-entropy secrets (PINs, short codes) that a plain digest would let anyone guess.
   */
  argumentsDigestKey?: string | Uint8Array;
  /** Keys redacted when `includeArguments` is `'redacted'`. */
  redactKeys?: RegExp;
  /** Delivery problems (never event contents). Default: one line on stderr. */
  onError?: (error: unknown) => void;
}

/**
 * The audit middleware, with delivery controls.
 *
 * @example
 * ```ts
 * const trail: AuditMiddleware = audit({ sinks: [stdoutSink()], spillDir: './audit-spill' });
 * await trail.flush();
 * ```
 */
export interface AuditMiddleware extends Middleware {
  /** Delivers everything queued (spilling what a down sink cannot take) and retries spill files once. */
  flush(): Promise<void>;
  /** Final flush of every sink, then closes them. Events recorded afterwards go to the spill files. */
  close(): Promise<void>;
  /** Delivery counters per sink. */
  stats(): SinkStats[];
  readonly healthChecks: readonly HealthCheck[];
}

const SINK_NAME = /^[A-Za-z0-9._-]{1,64}$/;

function positiveInt(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`audit: ${name} must be a positive integer`);
  }
  return value;
}

function defaultOnError(error: unknown): void {
  console.error(`[mcp-harden/audit] ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * Records one audit event per request, refusals included. Put it first in the chain so it sees
 * every refusal: it records after the rest of the chain settled, then returns or rethrows.
 * Recording only enqueues; a slow or down sink never delays or fails a call.
 *
 * @example
 * ```ts
 * import { audit, fileSink, postgresSink } from '@mcp-harden/audit';
 * const trail = audit({
 *   sinks: [fileSink({ path: '/var/log/mcp/audit.log', rotate: { maxBytes: 50_000_000 } }),
 *           postgresSink({ connectionString: process.env.AUDIT_DATABASE_URL })],
 *   spillDir: '/var/lib/mcp/audit-spill',
 * });
 * const hardened = harden(server, { use: [trail, auth, rbac] });
 * ```
 */
export function audit(options: AuditOptions): AuditMiddleware {
  if (!options || typeof options !== 'object') throw new TypeError('audit: options are required');
  const { sinks, spillDir } = options;
  if (!Array.isArray(sinks) || sinks.length === 0)
    throw new TypeError('audit: sinks must be a non-empty array');
  const names = new Set<string>();
  for (const sink of sinks) {
    if (!sink || typeof sink.write !== 'function')
      throw new TypeError('audit: every sink needs write(events)');
    if (typeof sink.name !== 'string' || !SINK_NAME.test(sink.name)) {
      throw new TypeError(`audit: sink name ${JSON.stringify(sink.name)} must match ${SINK_NAME}`);
    }
    if (names.has(sink.name)) throw new TypeError(`audit: two sinks are named ${sink.name}`);
    names.add(sink.name);
  }
  if (typeof spillDir !== 'string' || spillDir === '') throw new TypeError('audit: spillDir is required');
  const includeArguments = options.includeArguments ?? false;
  if (includeArguments !== false && includeArguments !== 'redacted') {
    throw new TypeError("audit: includeArguments must be false or 'redacted'");
  }
  const redactKeys = options.redactKeys ?? DEFAULT_REDACT_KEYS;
  if (!(redactKeys instanceof RegExp)) throw new TypeError('audit: redactKeys must be a RegExp');
  const digestKey = options.argumentsDigestKey;
  if (
    digestKey !== undefined &&
    !((typeof digestKey === 'string' || digestKey instanceof Uint8Array) && digestKey.length >= 16)
  ) {
    throw new TypeError('audit: argumentsDigestKey must be a string or bytes of at least 16');
  }
  const onError = options.onError ?? defaultOnError;
  if (typeof onError !== 'function') throw new TypeError('audit: onError must be a function');
  const channelOptions = {
    spillDir,
    maxQueue: positiveInt(options.maxQueue, 'maxQueue', 10_000),
    batchSize: positiveInt(options.batchSize, 'batchSize', 100),
    attempts: positiveInt(options.retry?.attempts, 'retry.attempts', 3),
    baseDelayMs: positiveInt(options.retry?.baseDelayMs, 'retry.baseDelayMs', 100),
    maxDelayMs: positiveInt(options.retry?.maxDelayMs, 'retry.maxDelayMs', 2_000),
    replayIntervalMs: positiveInt(options.replayIntervalMs, 'replayIntervalMs', 5_000),
    onError: (error: unknown) => {
      try {
        onError(error);
      } catch {
        // a failing error reporter must not break delivery
      }
    },
  };
  const channels = sinks.map((sink) => new SinkChannel(sink, channelOptions));
  let closing: Promise<void> | undefined;

  const send = (event: AuditEvent): void => {
    for (const channel of channels) channel.enqueue(event);
  };
  const record = (ctx: HardenContext, observation: Observation): void => {
    try {
      send(buildEvent(ctx, observation));
    } catch (err) {
      channelOptions.onError(err);
    }
  };

  const middleware = defineMiddleware(
    'audit',
    async function auditRequest(ctx: HardenContext, next): Promise<McpResult> {
      const time = Date.now();
      const id = randomUUID();
      ctx.state.audit = { eventId: id };
      let digest: string | null = null;
      if (ctx.arguments !== undefined) {
        try {
          digest = argumentsDigest(ctx.arguments, digestKey);
        } catch (err) {
          channelOptions.onError(err);
        }
      }
      // One observation per request, completed when the chain settles (no copies per outcome).
      const observation: Observation = {
        id,
        time,
        digest,
        result: undefined,
        error: undefined,
        failed: false,
        includeArguments,
        redactKeys,
      };
      let result: McpResult;
      try {
        result = await next();
      } catch (error) {
        observation.error = error;
        observation.failed = true;
        record(ctx, observation);
        throw error;
      }
      observation.result = result;
      record(ctx, observation);
      return result;
    },
    {
      close() {
        closing ??= Promise.allSettled(channels.map((c) => c.close())).then((results) => {
          for (const r of results) if (r.status === 'rejected') channelOptions.onError(r.reason);
        });
        return closing;
      },
      healthChecks: channels.map((c) => c.healthCheck()),
      onEarlyRefusal(refusal) {
        try {
          send(buildEarlyRefusalEvent(refusal, randomUUID(), Date.now()));
        } catch (err) {
          channelOptions.onError(err);
        }
      },
    },
  );
  return Object.assign(middleware, {
    async flush() {
      await Promise.all(channels.map((c) => c.flush()));
    },
    stats: () => channels.map((c) => c.stats()),
  }) as AuditMiddleware;
}
