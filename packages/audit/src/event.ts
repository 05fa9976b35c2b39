import {
  type EarlyRefusal,
  errorCodeOf,
  type HardenContext,
  isHardenError,
  type McpResult,
} from '@mcp-harden/core';
import {
  AUDIT_SCHEMA_VERSION,
  type AuditAuthorization,
  type AuditDecision,
  type AuditDeprecation,
  type AuditEvent,
  type AuditOutcome,
  type AuditRateLimit,
} from './types.js';

/** Failures that are not a middleware's decision about the request. */
const NOT_A_DECISION = new Set(['ERR_INTERNAL', 'ERR_MIDDLEWARE', 'ERR_TIMEOUT', 'ERR_CANCELLED']);

/**
 * Keys whose values are replaced when redacted arguments are recorded.
 *
 * @example
 * ```ts
 * audit({ sinks, spillDir, includeArguments: 'redacted', redactKeys: new RegExp(`${DEFAULT_REDACT_KEYS.source}|^iban$`, 'i') });
 * ```
 */
export const DEFAULT_REDACT_KEYS =
  /pass(?:word|wd|phrase)?|secret|token|authori[sz]ation|api[-_]?key|cookie|credential|private[-_]?key|^pin$|^otp$|^ssn$/i;

/** Values that look like credentials whatever their key (JWTs, bearer/basic headers). */
const CREDENTIAL_VALUE = /^(?:bearer|basic)\s+\S+|^eyJ[\w-]+\.[\w-]+\.[\w-]*$/i;

export const REDACTED = '[REDACTED]';

/** Longest client-chosen string (target, request id) kept in an event. */
const MAX_CLIENT_STRING = 1024;

/** Client-chosen strings are capped so one request cannot bloat the trail. */
function cap<T>(value: T): T {
  return typeof value === 'string' && value.length > MAX_CLIENT_STRING
    ? (`${value.slice(0, MAX_CLIENT_STRING)}…[truncated ${value.length - MAX_CLIENT_STRING}]` as T)
    : value;
}

// Everything read from ctx.state belongs to other packages: copy only the documented,
// well-typed fields so nothing unexpected (or secret) rides along into the trail.
type Loose = Record<string, unknown> | undefined;

function obj(value: unknown): Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((s) => typeof s === 'string') ? [...(v as string[])] : undefined;

function readAuthorization(value: unknown): AuditAuthorization | undefined {
  const a = obj(value);
  if (!a || typeof a.allowed !== 'boolean' || typeof a.rule !== 'string') return undefined;
  const out: AuditAuthorization = { allowed: a.allowed, rule: a.rule };
  const reason = str(a.reason);
  if (reason !== undefined) out.reason = reason;
  const requiredScopes = strings(a.requiredScopes);
  if (requiredScopes !== undefined) out.requiredScopes = requiredScopes;
  return out;
}

function readRateLimit(value: unknown): AuditRateLimit | undefined {
  const r = obj(value);
  if (!r || typeof r.level !== 'string' || typeof r.refused !== 'boolean') return undefined;
  const out: AuditRateLimit = { level: r.level, refused: r.refused };
  const remainingPoints = num(r.remainingPoints);
  if (remainingPoints !== undefined) out.remainingPoints = remainingPoints;
  const retryAfterMs = num(r.retryAfterMs);
  if (retryAfterMs !== undefined) out.retryAfterMs = retryAfterMs;
  return out;
}

function readDeprecation(value: unknown): AuditDeprecation | undefined {
  const d = obj(value);
  if (!d || typeof d.tool !== 'string' || typeof d.version !== 'string') return undefined;
  const out: AuditDeprecation = { tool: d.tool, version: d.version };
  const sunset = str(d.sunset);
  if (sunset !== undefined) out.sunset = sunset;
  const replacement = str(d.replacement);
  if (replacement !== undefined) out.replacement = replacement;
  return out;
}

function readRedactions(value: unknown): Record<string, number> | undefined {
  const r = obj(value);
  if (!r) return undefined;
  const out: Record<string, number> = {};
  for (const [rule, count] of Object.entries(r)) {
    if (typeof count === 'number' && Number.isInteger(count) && count >= 0) out[rule] = count;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function readInjection(value: unknown): { flagged: boolean; patterns: string[] } | undefined {
  const i = obj(value);
  if (!i || typeof i.flagged !== 'boolean') return undefined;
  return { flagged: i.flagged, patterns: strings(i.patterns) ?? [] };
}

/**
 * Copies `args` with the values of sensitive keys, and of values that look like credentials,
 * replaced by `[REDACTED]`.
 *
 * @example
 * ```ts
 * redactArguments({ user: 'ann', password: 'x' }); // { user: 'ann', password: '[REDACTED]' }
 * ```
 */
export function redactArguments(args: unknown, keys: RegExp = DEFAULT_REDACT_KEYS, depth = 0): unknown {
  if (depth > 32) return REDACTED;
  if (typeof args === 'string') return CREDENTIAL_VALUE.test(args) ? REDACTED : args;
  if (Array.isArray(args)) return args.map((item) => redactArguments(item, keys, depth + 1));
  const o = obj(args);
  if (!o) return args;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    out[key] = keys.test(key) ? REDACTED : redactArguments(value, keys, depth + 1);
  }
  return out;
}

/** What the middleware observed about one request. */
export interface Observation {
  id: string;
  /** When the request entered, ms since the epoch (`Date.now()`). */
  time: number;
  digest: string | null;
  result: McpResult | undefined;
  error: unknown;
  failed: boolean;
  includeArguments: false | 'redacted';
  redactKeys: RegExp;
}

// `toISOString` costs about a microsecond; within one second only the milliseconds change, so
// the text up to and including the '.' is kept for the current second.
let isoSecond = Number.NaN;
let isoPrefix = '';

/**
 * `new Date(ms).toISOString()` for an integer `ms` (as `Date.now()` returns), with the part before
 * the milliseconds cached per second.
 */
export function isoTime(ms: number): string {
  // Anything else (a fraction, NaN, beyond the Date range) is left to toISOString, errors included.
  if (!Number.isInteger(ms) || ms > 8.64e15 || ms < -8.64e15) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  const milli = ms - second * 1000;
  if (second !== isoSecond) {
    const iso = new Date(second * 1000).toISOString();
    isoPrefix = iso.slice(0, -4); // without 'mmmZ'
    isoSecond = second;
  }
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

function decisionOf(failed: boolean, error: unknown): AuditDecision {
  if (failed && isHardenError(error) && error.source !== undefined && !NOT_A_DECISION.has(error.code)) {
    return { result: 'denied', by: error.source, code: error.code };
  }
  return { result: 'allowed', by: null, code: null };
}

function outcomeOf(ctx: HardenContext, o: Observation): AuditOutcome {
  if (o.failed) return { status: 'error', code: errorCodeOf(o.error) };
  if (ctx.method === 'tools/call' && o.result?.isError === true) return { status: 'tool_error', code: null };
  return { status: 'ok', code: null };
}

/** Builds the v1 event for a request that has settled. */
export function buildEvent(ctx: HardenContext, o: Observation): AuditEvent {
  const state = ctx.state as Record<string, unknown>;
  const p = ctx.principal;
  const trace = obj(state.trace);
  const event: AuditEvent = {
    schemaVersion: AUDIT_SCHEMA_VERSION,
    id: o.id,
    time: isoTime(o.time),
    method: ctx.method,
    target: cap(ctx.target) ?? null,
    targetKind: ctx.targetKind ?? null,
    principal:
      p && typeof p.subject === 'string'
        ? {
            subject: p.subject,
            clientId: str(p.clientId) ?? null,
            tenant: str(p.tenant) ?? null,
            authMethod: str(p.authMethod) ?? null,
          }
        : null,
    decision: decisionOf(o.failed, o.error),
    outcome: outcomeOf(ctx, o),
    latencyMs: Math.max(0, Math.round((performance.now() - ctx.startedAt) * 1000) / 1000),
    argumentsDigest: o.digest,
    sessionId: cap(ctx.sessionId) ?? null,
    requestId: cap(ctx.requestId),
    traceId: str(trace?.traceId) ?? null,
    spanId: str(trace?.spanId) ?? null,
    transport: ctx.request.transport,
  };
  const include = ctx.policy?.audit?.includeArguments ?? o.includeArguments;
  if (include === 'redacted' && ctx.arguments !== undefined) {
    event.arguments = redactArguments(ctx.arguments, o.redactKeys) as Record<string, unknown>;
  }
  const redactions = readRedactions(state.redactions);
  if (redactions) event.redactions = redactions;
  const injection = readInjection(state.injection);
  if (injection) event.injection = injection;
  const authorization = readAuthorization(state.authorization);
  if (authorization) event.authorization = authorization;
  const rateLimit = readRateLimit(state.rateLimit);
  if (rateLimit) event.rateLimit = rateLimit;
  const deprecation = readDeprecation(state.deprecation);
  if (deprecation) event.deprecation = deprecation;
  return event;
}

/** Builds the v1 event for a request refused before the chain ran (HTTP edge, adapter params check). */
export function buildEarlyRefusalEvent(refusal: EarlyRefusal, id: string, time: number): AuditEvent {
  return {
    schemaVersion: AUDIT_SCHEMA_VERSION,
    id,
    time: isoTime(time),
    method: cap(refusal.method) ?? 'unknown',
    target: null,
    targetKind: null,
    principal: null,
    decision: { result: 'denied', by: refusal.source, code: refusal.error.code },
    outcome: { status: 'error', code: refusal.error.code },
    latencyMs: 0,
    argumentsDigest: null,
    sessionId: cap(refusal.sessionId) ?? null,
    requestId: cap(refusal.requestId) ?? null,
    traceId: null,
    spanId: null,
    transport: refusal.request.transport,
  };
}
