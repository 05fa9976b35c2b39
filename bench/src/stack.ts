/**
 * The full mcp-harden middleware stack as the benchmark configures it, shared by the hardened
 * load-test server (servers/harden-full.ts) and the in-process micro-benchmark (micro.ts), so
 * both measure the same thing. Every package is on, configured as a production server would be.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditMiddleware, audit, fileSink } from '@mcp-harden/audit';
import { type Authenticator, bearerAuth } from '@mcp-harden/auth';
import type { Middleware } from '@mcp-harden/core';
import { type RateLimitMiddleware, type RedisClientLike, rateLimit } from '@mcp-harden/rate-limit';
import { all, rbac, requireRoles, requireScopes } from '@mcp-harden/rbac';
import { sanitize } from '@mcp-harden/sanitize';
import { type TelemetryMiddleware, telemetry } from '@mcp-harden/telemetry';
import { createTestIssuer, type TestIssuer } from '@mcp-harden/testing';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  ExportResultCode,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';

/** Audience of the bench tokens (this server's identifier, RFC 8707). */
export const AUDIENCE = 'http://127.0.0.1/mcp';
/** Claims of the benchmark caller: enough for both tools' rules. */
export const CALLER_CLAIMS = { sub: 'bench-user', scope: 'bench:read', roles: ['analyst'], tenant: 'acme' };

/** Span exporter that accepts every batch and sends it nowhere (the SDK still builds and batches spans). */
export const noopSpanExporter: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => {},
  forceFlush: async () => {},
};

/** Metric exporter that accepts every collection and sends it nowhere (aggregation still runs). */
const noopMetricExporter: PushMetricExporter = {
  export: (_metrics, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => {},
  forceFlush: async () => {},
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
};

/**
 * The real OpenTelemetry SDK, wired as an application would (context manager, propagator, providers).
 * Every span is recorded unless `sampleRatio` is given: then a `ParentBasedSampler` around a
 * `TraceIdRatioBasedSampler` records that fraction of the traces (metrics stay exact).
 */
export function startOtel(sampleRatio?: number): {
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
} {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const tracerProvider = new BasicTracerProvider({
    ...(sampleRatio === undefined
      ? {}
      : { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio) }) }),
    spanProcessors: [new BatchSpanProcessor(noopSpanExporter)],
  });
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({ exporter: noopMetricExporter, exportIntervalMillis: 10_000 }),
    ],
  });
  return { tracerProvider, meterProvider };
}

export interface FullStack {
  /** Outermost first: audit, telemetry, auth, rbac, rate-limit, sanitize. */
  middleware: Middleware[];
  auth: Authenticator;
  trail: AuditMiddleware;
  tm: TelemetryMiddleware;
  limiter: RateLimitMiddleware;
  rbacMw: Middleware;
  sanitizeMw: Middleware;
  issuer: TestIssuer;
  /** A realistic signed access token (ES256, 1 h) for {@link CALLER_CLAIMS}. */
  token: string;
  /** Flushes audit and telemetry, stops the issuer and removes the temp dir. */
  close(): Promise<void>;
}

/** Limit high enough that a benchmark never reaches it, at the levels a real server would set. */
export const NEVER = { points: 1_000_000_000, duration: 60 };

/** Builds every package with the benchmark's configuration. */
export async function fullStack(
  options: { redis?: RedisClientLike; sampleRatio?: number } = {},
): Promise<FullStack> {
  const issuer = await createTestIssuer({ algorithm: 'ES256', audience: AUDIENCE, expiresIn: 3600 });
  const token = await issuer.mintToken(CALLER_CLAIMS);
  const dir = mkdtempSync(join(tmpdir(), 'mcp-harden-bench-'));
  const { tracerProvider, meterProvider } = startOtel(options.sampleRatio);

  const trail = audit({
    sinks: [fileSink({ path: join(dir, 'audit.log') })],
    spillDir: join(dir, 'spill'),
  });
  const tm = telemetry({ tracerProvider, meterProvider });
  const auth = bearerAuth({
    jwksUri: issuer.jwksUri,
    issuer: issuer.issuer,
    audience: AUDIENCE,
    algorithms: ['ES256'],
  });
  const rbacMw = rbac({
    tools: {
      echo: requireScopes('bench:read'),
      report: all(requireScopes('bench:read'), requireRoles('analyst')),
    },
  });
  const limiter = rateLimit({
    limits: { principalTool: NEVER, principal: NEVER, global: NEVER },
    ...(options.redis ? { redis: { client: options.redis } } : {}),
  });
  const sanitizeMw = sanitize({
    schemas: { echo: z.object({ text: z.string() }), report: z.object({}) },
    strict: true,
  });
  return {
    middleware: [trail, tm, auth, rbacMw, limiter, sanitizeMw],
    auth,
    trail,
    tm,
    limiter,
    rbacMw,
    sanitizeMw,
    issuer,
    token,
    async close() {
      // A host may have closed the middleware already (serve() closes them on shutdown).
      await Promise.allSettled([trail.close(), limiter.close?.()]);
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown(), issuer.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
