/**
 * The schema version written in every event's `schemaVersion`.
 *
 * @example
 * ```ts
 * if (event.schemaVersion !== AUDIT_SCHEMA_VERSION) throw new Error('unknown audit schema');
 * ```
 */
export const AUDIT_SCHEMA_VERSION = 1 as const;

/**
 * Who made the request. Claims, scopes and credentials are never recorded.
 *
 * @example
 * ```ts
 * event.principal?.subject; // 'user-1'
 * ```
 */
export interface AuditPrincipal {
  subject: string;
  clientId: string | null;
  tenant: string | null;
  authMethod: string | null;
}

/**
 * What the pipeline decided.
 *
 * @example
 * ```ts
 * const d: AuditDecision = { result: 'denied', by: 'rbac', code: 'ERR_FORBIDDEN' };
 * ```
 */
export interface AuditDecision {
  /** `denied` when a middleware refused the request with a `HardenError`. */
  result: 'allowed' | 'denied';
  /** Name of the middleware that refused (`HardenError.source`), `null` when allowed or unknown. */
  by: string | null;
  /** The refusal's stable code (`ERR_FORBIDDEN`, ...), `null` when allowed. */
  code: string | null;
}

/**
 * How the request ended.
 *
 * @example
 * ```ts
 * const o: AuditOutcome = { status: 'error', code: 'ERR_TIMEOUT' };
 * ```
 */
export interface AuditOutcome {
  /** `ok`; `tool_error` for a `tools/call` result with `isError: true`; `error` for any thrown error. */
  status: 'ok' | 'tool_error' | 'error';
  /** `errorCodeOf(err)` of `@mcp-harden/core` when `status` is `error`, otherwise `null`. */
  code: string | null;
}

/**
 * Copy of `ctx.state.authorization` (set by `@mcp-harden/rbac`).
 *
 * @example
 * ```ts
 * event.authorization?.rule; // 'notes:write needs editor'
 * ```
 */
export interface AuditAuthorization {
  allowed: boolean;
  rule: string;
  reason?: string;
  requiredScopes?: string[];
}

/**
 * Copy of `ctx.state.rateLimit` (set by `@mcp-harden/rate-limit`).
 *
 * @example
 * ```ts
 * event.rateLimit?.retryAfterMs;
 * ```
 */
export interface AuditRateLimit {
  level: string;
  refused: boolean;
  remainingPoints?: number;
  retryAfterMs?: number;
}

/**
 * Copy of `ctx.state.deprecation` (set by `@mcp-harden/versioning`).
 *
 * @example
 * ```ts
 * event.deprecation?.replacement;
 * ```
 */
export interface AuditDeprecation {
  tool: string;
  version: string;
  sunset?: string;
  replacement?: string;
}

/**
 * One audit event, schema v1 (`schema/audit-event.v1.json` in this package). One event is
 * written per request that enters the pipeline, refusals included.
 *
 * @example
 * ```ts
 * const denied = (e: AuditEvent) => e.decision.result === 'denied' && e.decision.by === 'rbac';
 * ```
 */
export interface AuditEvent {
  schemaVersion: typeof AUDIT_SCHEMA_VERSION;
  /** UUID v4; sinks use it to make delivery idempotent. */
  id: string;
  /** When the request entered the audit middleware, ISO 8601 UTC. */
  time: string;
  /** The MCP method; for a request refused before the pipeline, its JSON-RPC method or `unknown`. */
  method: string;
  target: string | null;
  targetKind: 'tool' | 'resource' | 'prompt' | null;
  principal: AuditPrincipal | null;
  decision: AuditDecision;
  outcome: AuditOutcome;
  /** Milliseconds from entering the pipeline to the result or error. */
  latencyMs: number;
  /** `sha256:<hex>` (or `hmac-sha256:<hex>` with a key) of the canonical JSON of the arguments as received; `null` when there are none. */
  argumentsDigest: string | null;
  /** Arguments with sensitive keys redacted, only when `includeArguments: 'redacted'`. */
  arguments?: Record<string, unknown>;
  /** Redaction counts per rule (`ctx.state.redactions`), never values. */
  redactions?: Record<string, number>;
  /** Instruction-like text flagged in output (`ctx.state.injection`). */
  injection?: { flagged: boolean; patterns: string[] };
  authorization?: AuditAuthorization;
  rateLimit?: AuditRateLimit;
  deprecation?: AuditDeprecation;
  sessionId: string | null;
  /** `null` only for a request refused before its body was read (at the HTTP edge). */
  requestId: string | number | null;
  traceId: string | null;
  spanId: string | null;
  /** `stdio`, `http`, `memory`, ... as the adapter reported it. */
  transport: string;
}

/**
 * Where audit events go. `write` receives batches in order and must either persist the whole
 * batch or reject; the dispatcher retries a rejected batch and may deliver an event more than
 * once after a failure, so sinks that can should be idempotent by `event.id`.
 *
 * @example
 * ```ts
 * const memory: AuditSink = {
 *   name: 'memory',
 *   events: [] as AuditEvent[],
 *   async write(batch) { this.events.push(...batch); },
 * };
 * ```
 */
export interface AuditSink {
  /** Unique, stable name among the sinks of one `audit()`; also names its spill file. */
  readonly name: string;
  /** Persists a batch, or rejects. */
  write(events: readonly AuditEvent[]): Promise<void>;
  /** Resolves when the sink can accept writes (used by `/ready`). */
  check?(signal: AbortSignal): Promise<void>;
  /** Releases connections and files; called once by `audit().close()` after the final flush. */
  close?(): Promise<void>;
}

/**
 * Delivery counters of one sink, see `AuditMiddleware.stats()`.
 *
 * @example
 * ```ts
 * const down = trail.stats().filter((s: SinkStats) => s.degraded).map((s) => s.sink);
 * ```
 */
export interface SinkStats {
  readonly sink: string;
  /** Events handed to the sink successfully (replays included). */
  delivered: number;
  /** Events written to the spill file because the sink failed or the queue was full. */
  spilled: number;
  /** Spilled events later delivered to the sink. */
  replayed: number;
  /** Events in the in-memory queue right now. */
  queued: number;
  /** True while the sink is considered down and events go to the spill file. */
  degraded: boolean;
  /** Message of the last delivery failure, when any. */
  lastError: string | undefined;
}

declare module '@mcp-harden/core' {
  interface HardenState {
    /** Set by `audit()` when the request enters: the id its audit event will carry. */
    audit?: { eventId: string };
  }
  interface TargetPolicy {
    /** Per-target audit options; `includeArguments` overrides the `audit()` option for this target. */
    audit?: { includeArguments?: false | 'redacted' };
  }
}
