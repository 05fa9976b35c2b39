import {
  type CallToolResult,
  defineMiddleware,
  type EarlyRefusal,
  type HardenContext,
  isHardenError,
  isHardenedMethod,
  type JsonObject,
  type McpResult,
  type Middleware,
  toJsonRpcError,
} from '@mcp-harden/core';
import {
  type Attributes,
  type Context,
  type Counter,
  createNoopMeter,
  type Histogram,
  type Link,
  type MeterProvider,
  metrics,
  context as otelContext,
  ProxyTracerProvider,
  propagation,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { ATTR, DURATION_BUCKETS, METRIC_NAMES } from './names.js';
import { isValidSpanContext } from './span-context.js';

declare module '@mcp-harden/core' {
  interface HardenState {
    /** Ids of the request's SERVER span, set by `@mcp-harden/telemetry` (read by audit). */
    trace?: { traceId: string; spanId: string };
  }
}

/** Instrumentation scope of the tracer and meter. */
const SCOPE = '@mcp-harden/telemetry';
/** Label used on metrics for a tool or prompt name beyond {@link TelemetryOptions.metricTargetLimit}. */
const OTHER_TARGET = '_OTHER';
/** Longest tool/prompt name put on a span name or attribute; longer names are cut. */
const MAX_TARGET_LENGTH = 128;

const NOOP_METER = createNoopMeter();
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * Extracts trace context (`traceparent`, `tracestate`, `baggage`) from a carrier; any
 * OpenTelemetry `TextMapPropagator` (or the global `propagation` API) fits.
 *
 * @example
 * ```ts
 * import { W3CTraceContextPropagator } from '@opentelemetry/core';
 * telemetry({ propagator: new W3CTraceContextPropagator() });
 * ```
 */
export interface TraceContextExtractor {
  extract<Carrier>(context: Context, carrier: Carrier, getter?: TextMapGetter<Carrier>): Context;
}

/**
 * What to do with tool arguments, prompt variables and tool results (all off by default).
 *
 * @example
 * ```ts
 * telemetry({ captureContent: { arguments: true, results: true, redact: (value) => scrubSecrets(value) } });
 * ```
 */
export interface ContentCaptureOptions {
  /**
   * Record `gen_ai.tool.call.arguments` / `gen_ai.prompt.variable.<name>`. Needs `redact`:
   * arguments are untrusted input that no sanitizer redacts on the way in.
   */
  arguments?: boolean;
  /**
   * Record `gen_ai.tool.call.result`. Needs `redact`, or `@mcp-harden/sanitize` running inside
   * telemetry (it sets `ctx.state.redactions` once it redacted the output).
   */
  results?: boolean;
  /** Redacts a value before it is serialized onto the span. */
  redact?: (value: unknown, kind: 'arguments' | 'result') => unknown;
  /** Longest serialized value kept; longer values are cut. Default 4096. */
  maxLength?: number;
}

/**
 * Options of {@link telemetry}. Every option has a safe default.
 *
 * @example
 * ```ts
 * const options: TelemetryOptions = { tracerProvider, meterProvider, metricTargetLimit: 50 };
 * ```
 */
export interface TelemetryOptions {
  /** Tracer provider; defaults to the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Meter provider; defaults to the global one (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Reads trace context from `params._meta`; defaults to the global propagator (`propagation`). */
  propagator?: TraceContextExtractor;
  /** Put `mcp.resource.uri` on spans (URIs may name users or records). Default `false`. */
  recordResourceUri?: boolean;
  /** Use the resource URI as span-name target (high cardinality). Needs `recordResourceUri`. Default `false`. */
  resourceUriInSpanName?: boolean;
  /**
   * Most distinct tool/prompt names put on metrics; further names become `_OTHER`. Names are
   * admitted only once the target was declared with a policy or answered successfully, so a
   * client calling made-up names cannot grow metric cardinality. Default 200.
   */
  metricTargetLimit?: number;
  /** Opt-in capture of arguments and results, always after redaction. */
  captureContent?: ContentCaptureOptions;
}

/**
 * Attributes of a finished session; see {@link TelemetryMiddleware.recordSessionEnd}.
 *
 * @example
 * ```ts
 * tm.recordSessionEnd(42.5, { transport: 'http', protocolVersion: '2025-11-25', errorType: 'timeout' });
 * ```
 */
export interface SessionAttributes {
  /** Negotiated MCP protocol version. */
  protocolVersion?: string;
  /** `http`, `stdio`, ... (mapped to `network.transport`). */
  transport?: string;
  /** Why the session ended abnormally (`timeout`, an error code, ...); omit for a clean end. */
  errorType?: string;
}

/**
 * A running session clock; see {@link TelemetryMiddleware.startSession}.
 *
 * @example
 * ```ts
 * const session = tm.startSession({ transport: 'stdio' });
 * server.server.onclose = () => session.end();
 * ```
 */
export interface SessionTimer {
  /** Records `mcp.server.session.duration` once; later calls do nothing. */
  end(attributes?: SessionAttributes): void;
}

/**
 * The telemetry middleware, plus session helpers the host calls.
 *
 * @example
 * ```ts
 * const tm: TelemetryMiddleware = telemetry();
 * harden(server, { use: [tm] });
 * tm.recordSessionEnd(12, { transport: 'http' });
 * ```
 */
export interface TelemetryMiddleware extends Middleware {
  /** Records `mcp.server.session.duration` for a session that ended (never with the session id). */
  recordSessionEnd(durationSeconds: number, attributes?: SessionAttributes): void;
  /** Starts a session clock; call `end()` when the transport closes. */
  startSession(attributes?: SessionAttributes): SessionTimer;
}

interface Instruments {
  operationDuration: Histogram;
  sessionDuration: Histogram;
  refusals: Counter;
}

const metaGetter: TextMapGetter<Readonly<JsonObject>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
    return undefined;
  },
};

function networkTransport(transport: string | undefined): string | undefined {
  if (transport === 'http') return 'tcp';
  if (transport === 'stdio') return 'pipe';
  return undefined;
}

/** `next()` as a promise: a synchronous throw becomes a rejection, as it would in an async function. */
function callNext(next: () => Promise<McpResult>): Promise<McpResult> {
  try {
    return Promise.resolve(next());
  } catch (err) {
    return Promise.reject(err);
  }
}

function cut(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}

function serialize(value: unknown, max: number): string | undefined {
  try {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text === undefined ? undefined : cut(text, max);
  } catch {
    return undefined;
  }
}

/**
 * Writes the attributes shared by the span and the metrics into `out`, always in the same order:
 * method, tool or prompt name (as given: the span's or the metric's bounded name), operation,
 * protocol version, network transport and protocol.
 */
function commonAttributes(
  out: Attributes,
  ctx: HardenContext,
  toolName: string | undefined,
  promptName: string | undefined,
): Attributes {
  out[ATTR.methodName] = ctx.method;
  if (ctx.targetKind === 'tool' && toolName !== undefined) out[ATTR.toolName] = toolName;
  if (ctx.targetKind === 'prompt' && promptName !== undefined) out[ATTR.promptName] = promptName;
  if (ctx.method === 'tools/call') out[ATTR.operationName] = 'execute_tool';
  if (ctx.protocolVersion) out[ATTR.protocolVersion] = ctx.protocolVersion;
  const transport = networkTransport(ctx.request.transport);
  if (transport) out[ATTR.networkTransport] = transport;
  if (ctx.request.transport === 'http') out[ATTR.networkProtocolName] = 'http';
  return out;
}

function sameSpan(a: SpanContext, b: SpanContext): boolean {
  return a.traceId === b.traceId && a.spanId === b.spanId;
}

function checkOptions(options: TelemetryOptions): void {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('telemetry: options must be an object');
  const { tracerProvider, meterProvider, propagator, metricTargetLimit, captureContent } = options;
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function') {
    throw new TypeError('telemetry: tracerProvider must have getTracer()');
  }
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== 'function') {
    throw new TypeError('telemetry: meterProvider must have getMeter()');
  }
  if (propagator !== undefined && typeof propagator?.extract !== 'function') {
    throw new TypeError('telemetry: propagator must have extract()');
  }
  if (metricTargetLimit !== undefined && !(Number.isInteger(metricTargetLimit) && metricTargetLimit >= 0)) {
    throw new TypeError('telemetry: metricTargetLimit must be a non-negative integer');
  }
  if (options.resourceUriInSpanName && !options.recordResourceUri) {
    throw new TypeError('telemetry: resourceUriInSpanName needs recordResourceUri');
  }
  if (captureContent !== undefined) {
    if (typeof captureContent !== 'object' || captureContent === null) {
      throw new TypeError('telemetry: captureContent must be an object');
    }
    const { redact, maxLength } = captureContent;
    if (redact !== undefined && typeof redact !== 'function') {
      throw new TypeError('telemetry: captureContent.redact must be a function');
    }
    if (captureContent.arguments && redact === undefined) {
      throw new TypeError('telemetry: captureContent.arguments needs captureContent.redact');
    }
    if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength > 0)) {
      throw new TypeError('telemetry: captureContent.maxLength must be a positive integer');
    }
  }
}

/**
 * OpenTelemetry for the mcp-harden pipeline, following the MCP semantic conventions: one
 * SERVER span per request (`tools/call get_weather`) whose parent is the trace context in
 * `params._meta`, the `mcp.server.operation.duration` histogram, and a counter of refusals by
 * code. Place it outermost, next to audit, so it sees every refusal. With no OpenTelemetry
 * SDK registered (and no provider passed) it only calls `next()`.
 *
 * @example
 * ```ts
 * import { harden } from '@mcp-harden/sdk';
 * import { telemetry } from '@mcp-harden/telemetry';
 *
 * const tm = telemetry();
 * const hardened = harden(server, { use: [tm, auth, rbac(...)] });
 * ```
 */
export function telemetry(options: TelemetryOptions = {}): TelemetryMiddleware {
  checkOptions(options);
  const propagator: TraceContextExtractor = options.propagator ?? propagation;
  const recordUri = options.recordResourceUri === true;
  const uriInName = options.resourceUriInSpanName === true;
  const targetLimit = options.metricTargetLimit ?? 200;
  const capture = options.captureContent;
  const maxContent = capture?.maxLength ?? 4096;

  let tracerSource: TracerProvider | undefined;
  let tracer: Tracer | undefined;
  let meterSource: MeterProvider | undefined;
  let instruments: Instruments | undefined;
  const metricTargets = new Set<string>();

  // Providers are resolved per request (cheap identity checks) so an SDK registered after
  // telemetry() was built is picked up, and nothing is done while only the no-op API is present.
  const currentTracer = (): Tracer | undefined => {
    const provider = options.tracerProvider ?? trace.getTracerProvider();
    if (provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_TRACER_PROVIDER)
      return undefined;
    if (provider !== tracerSource) {
      tracerSource = provider;
      tracer = provider.getTracer(SCOPE);
    }
    return tracer;
  };

  const currentInstruments = (): Instruments | undefined => {
    const provider = options.meterProvider ?? metrics.getMeterProvider();
    if (provider !== meterSource) {
      meterSource = provider;
      const meter = provider.getMeter(SCOPE);
      instruments =
        meter === NOOP_METER
          ? undefined
          : {
              operationDuration: meter.createHistogram(METRIC_NAMES.operationDuration, {
                description:
                  'MCP request duration as observed on the server, from receipt until the result or error is sent.',
                unit: 's',
                advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
              }),
              sessionDuration: meter.createHistogram(METRIC_NAMES.sessionDuration, {
                description: 'The duration of the MCP session as observed on the MCP server.',
                unit: 's',
                advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
              }),
              refusals: meter.createCounter(METRIC_NAMES.refusals, {
                description: 'MCP requests refused by mcp-harden middleware, by error code and middleware.',
                unit: '{request}',
              }),
            };
    }
    return instruments;
  };

  /** The name put on metrics for a target: bounded, and only names the server is known to serve. */
  const metricTarget = (ctx: HardenContext, name: string, known: boolean): string => {
    if (metricTargets.has(name)) return name;
    if ((known || ctx.policy !== undefined) && metricTargets.size < targetLimit) {
      metricTargets.add(name);
      return name;
    }
    return OTHER_TARGET;
  };

  const sessionAttributes = (attributes: SessionAttributes | undefined): Attributes => {
    const out: Attributes = {};
    if (attributes?.protocolVersion) out[ATTR.protocolVersion] = attributes.protocolVersion;
    const transport = networkTransport(attributes?.transport);
    if (transport) out[ATTR.networkTransport] = transport;
    if (attributes?.errorType) out[ATTR.errorType] = attributes.errorType;
    return out;
  };

  const recordSessionEnd = (durationSeconds: number, attributes?: SessionAttributes): void => {
    if (!(Number.isFinite(durationSeconds) && durationSeconds >= 0)) return;
    try {
      currentInstruments()?.sessionDuration.record(durationSeconds, sessionAttributes(attributes));
    } catch {
      // Observability fails soft: a broken meter never affects the server.
    }
  };

  const startSession = (startAttributes?: SessionAttributes): SessionTimer => {
    const started = performance.now();
    let ended = false;
    return {
      end(endAttributes) {
        if (ended) return;
        ended = true;
        recordSessionEnd((performance.now() - started) / 1000, { ...startAttributes, ...endAttributes });
      },
    };
  };

  // Not an async function: the chain's own promise is returned with one `then`, so a request
  // creates one promise here instead of an async frame, an await and a finally (each promise pays
  // the AsyncLocalStorage context manager's promise hooks on Node 20).
  const middleware = defineMiddleware('telemetry', function telemetryMiddleware(ctx, next) {
    const activeTracer = currentTracer();
    const activeInstruments = currentInstruments();
    if (activeTracer === undefined && activeInstruments === undefined) return callNext(next);

    const target = ctx.target === undefined ? undefined : cut(ctx.target, MAX_TARGET_LENGTH);

    let span: Span | undefined;
    let parent: Context | undefined;
    if (activeTracer) {
      try {
        const active = otelContext.active();
        parent = ctx.meta ? propagator.extract(active, ctx.meta, metaGetter) : active;
        let links: Link[] | undefined;
        const activeSpan = trace.getSpanContext(active);
        if (activeSpan !== undefined) {
          const parentSpan = parent === active ? activeSpan : trace.getSpanContext(parent);
          if (parentSpan && isValidSpanContext(activeSpan) && !sameSpan(activeSpan, parentSpan)) {
            links = [{ context: activeSpan }];
          }
        }
        // Written key by key into a fresh object (no spread), so every request's attribute
        // objects share one hidden-class chain instead of going through object cloning.
        const spanAttributes = commonAttributes({}, ctx, target, target);
        spanAttributes[ATTR.requestId] = String(ctx.requestId);
        if (ctx.sessionId) spanAttributes[ATTR.sessionId] = ctx.sessionId;
        if (ctx.request.remoteAddress) spanAttributes[ATTR.clientAddress] = ctx.request.remoteAddress;
        if (recordUri && ctx.targetKind === 'resource' && ctx.target !== undefined) {
          spanAttributes[ATTR.resourceUri] = ctx.target;
        }
        const nameTarget = ctx.targetKind === 'resource' ? (uriInName ? ctx.target : undefined) : target;
        const name = nameTarget === undefined ? ctx.method : `${ctx.method} ${nameTarget}`;
        span = activeTracer.startSpan(
          name,
          links === undefined
            ? { kind: SpanKind.SERVER, attributes: spanAttributes }
            : { kind: SpanKind.SERVER, attributes: spanAttributes, links },
          parent,
        );
        const spanContext = span.spanContext();
        if (isValidSpanContext(spanContext)) {
          ctx.state.trace = { traceId: spanContext.traceId, spanId: spanContext.spanId };
        }
      } catch {
        span = undefined;
      }
    }

    let pending: Promise<McpResult>;
    try {
      pending = Promise.resolve(
        span && parent ? otelContext.with(trace.setSpan(parent, span), next) : next(),
      );
    } catch (err) {
      settle(ctx, target, span, activeInstruments, true, err, undefined);
      return Promise.reject(err);
    }
    return pending.then(
      (result) => {
        settle(ctx, target, span, activeInstruments, false, undefined, result);
        return result;
      },
      (err: unknown) => {
        settle(ctx, target, span, activeInstruments, true, err, undefined);
        throw err;
      },
    );
  });

  /** Ends the span and records the metrics; observability fails soft and never changes the response. */
  function settle(
    ctx: HardenContext,
    target: string | undefined,
    span: Span | undefined,
    activeInstruments: Instruments | undefined,
    failed: boolean,
    error: unknown,
    result: McpResult | undefined,
  ): void {
    try {
      finish(ctx, target, span, activeInstruments, failed, error, result);
    } catch {
      // Observability fails soft: a broken exporter or meter never changes the response.
    }
  }

  function finish(
    ctx: HardenContext,
    target: string | undefined,
    span: Span | undefined,
    activeInstruments: Instruments | undefined,
    failed: boolean,
    error: unknown,
    result: McpResult | undefined,
  ): void {
    const seconds = Math.max(0, (performance.now() - ctx.startedAt) / 1000);
    let errorType: string | undefined;
    let statusMessage: string | undefined;
    if (failed) {
      const rpc = toJsonRpcError(error);
      errorType = String(rpc.code);
      statusMessage = rpc.message;
      span?.setAttribute(ATTR.statusCode, errorType);
    } else if (ctx.method === 'tools/call' && (result as CallToolResult | undefined)?.isError === true) {
      errorType = 'tool_error';
    }
    if (span) {
      if (errorType !== undefined) {
        span.setAttribute(ATTR.errorType, errorType);
        span.setStatus(
          statusMessage === undefined
            ? { code: SpanStatusCode.ERROR }
            : { code: SpanStatusCode.ERROR, message: statusMessage },
        );
      }
      if (capture && span.isRecording()) recordContent(ctx, span, result);
      span.end();
    }
    if (!activeInstruments) return;

    const known = !failed && errorType === undefined;
    // Metrics carry the bounded name (`_OTHER` past the limit), spans the name as called.
    const named = target !== undefined && (ctx.targetKind === 'tool' || ctx.targetKind === 'prompt');
    const metricName = named ? metricTarget(ctx, target, known) : undefined;
    const attributes = commonAttributes({}, ctx, metricName, metricName);
    if (errorType !== undefined) attributes[ATTR.errorType] = errorType;
    if (failed && typeof errorType === 'string') attributes[ATTR.statusCode] = errorType;
    activeInstruments.operationDuration.record(seconds, attributes);

    // A client's own cancellation is not a refusal.
    if (failed && isHardenError(error) && error.code !== 'ERR_CANCELLED') {
      const refusal: Attributes = {
        [ATTR.methodName]: ctx.method,
        [ATTR.errorCode]: error.code,
        [ATTR.refusalSource]: error.source ?? 'unknown',
      };
      if (attributes[ATTR.toolName] !== undefined) refusal[ATTR.toolName] = attributes[ATTR.toolName];
      if (attributes[ATTR.promptName] !== undefined) refusal[ATTR.promptName] = attributes[ATTR.promptName];
      activeInstruments.refusals.add(1, refusal);
    }
  }

  function recordContent(ctx: HardenContext, span: Span, result: McpResult | undefined): void {
    if (!capture) return;
    const redact = capture.redact;
    if (capture.arguments && redact && ctx.arguments !== undefined) {
      if (ctx.method === 'tools/call') {
        const text = serialize(redact(ctx.arguments, 'arguments'), maxContent);
        if (text !== undefined) span.setAttribute(ATTR.toolArguments, text);
      } else if (ctx.method === 'prompts/get') {
        const redacted = redact(ctx.arguments, 'arguments');
        if (typeof redacted === 'object' && redacted !== null) {
          for (const [key, value] of Object.entries(redacted)) {
            const text = serialize(value, maxContent);
            if (text !== undefined) span.setAttribute(`${ATTR.promptVariablePrefix}${key}`, text);
          }
        }
      }
    }
    if (capture.results && ctx.method === 'tools/call' && result !== undefined) {
      const output = result as CallToolResult;
      const value = output.structuredContent ?? output.content;
      const sanitized = (ctx.state as { redactions?: unknown }).redactions !== undefined;
      if (redact) {
        const text = serialize(redact(value, 'result'), maxContent);
        if (text !== undefined) span.setAttribute(ATTR.toolResult, text);
      } else if (sanitized) {
        const text = serialize(value, maxContent);
        if (text !== undefined) span.setAttribute(ATTR.toolResult, text);
      } else {
        span.setAttribute(ATTR.contentOmitted, 'not_redacted');
      }
    }
  }

  /** A request refused before the chain ran (HTTP edge, adapter params check) still counts as a refusal. */
  function onEarlyRefusal(refusal: EarlyRefusal): void {
    const active = currentInstruments();
    if (active === undefined || refusal.error.code === 'ERR_CANCELLED') return;
    const attributes: Attributes = {
      [ATTR.errorCode]: refusal.error.code,
      [ATTR.refusalSource]: refusal.source,
    };
    // Only a known method name: the client chooses this string, and metric attributes must stay bounded.
    if (refusal.method !== undefined && isHardenedMethod(refusal.method))
      attributes[ATTR.methodName] = refusal.method;
    active.refusals.add(1, attributes);
  }

  return Object.assign(middleware, { recordSessionEnd, startSession, onEarlyRefusal });
}
