/**
 * Floors: the least that any implementation of two of the benchmark's required features has to do
 * per call, written by hand in a few lines each, without mcp-harden's packages. Plugged into the bare
 * server (servers/harden-bare.ts, `BENCH_FLOOR`), they show how much of the bare server's throughput
 * those features take before any of mcp-harden's own code runs; src/paired.ts reports it.
 *
 * - `otel`: one SERVER span per call on the real OpenTelemetry SDK (batch processor to a no-op
 *   exporter, as in stack.ts), made active for the tool's code with the AsyncLocalStorage context
 *   manager, and one duration histogram record: what "every call traced and measured" costs.
 * - `audit`: one JSON line per call with an id and a time, chained by SHA-256 to the previous line,
 *   appended to a file with group commit (one write and one fdatasync per batch): what "an audit
 *   trail that survives a crash and shows tampering" costs.
 */
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, fdatasync, mkdtempSync, openSync, rmSync, write } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineMiddleware, type Middleware } from '@mcp-harden/core';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { startOtel } from './stack.js';

/** The floors named in `spec` (comma-separated `otel`, `audit`), outermost first. */
export function floors(spec: string): { use: Middleware[]; close(): Promise<void> } {
  const names = spec.split(',').filter(Boolean);
  for (const name of names) {
    if (name !== 'otel' && name !== 'audit') throw new Error(`unknown floor ${name} (otel, audit)`);
  }
  const parts = [
    ...(names.includes('audit') ? [auditFloor()] : []),
    ...(names.includes('otel') ? [otelFloor()] : []),
  ];
  return {
    use: parts.map((p) => p.middleware),
    close: async () => {
      await Promise.all(parts.map((p) => p.close()));
    },
  };
}

function otelFloor(): { middleware: Middleware; close(): Promise<void> } {
  const { tracerProvider, meterProvider } = startOtel();
  const tracer = tracerProvider.getTracer('floor');
  const duration = meterProvider
    .getMeter('floor')
    .createHistogram('mcp.server.operation.duration', { unit: 's' });
  const middleware = defineMiddleware('otel-floor', (ctx, next) => {
    const started = performance.now();
    const attributes = { 'mcp.method.name': ctx.method, 'gen_ai.tool.name': ctx.target ?? '' };
    const span = tracer.startSpan(`${ctx.method} ${ctx.target}`, {
      kind: SpanKind.SERVER,
      attributes: { ...attributes, 'jsonrpc.request.id': String(ctx.requestId) },
    });
    return context.with(trace.setSpan(context.active(), span), next).then((result) => {
      span.end();
      duration.record((performance.now() - started) / 1000, attributes);
      return result;
    });
  });
  return {
    middleware,
    close: async () => {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

function auditFloor(): { middleware: Middleware; close(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-harden-bench-floor-'));
  const fd = openSync(join(dir, 'audit.log'), 'a');
  let previous = '0'.repeat(64);
  let pending: string[] = [];
  let flushing: Promise<void> | undefined;
  const flush = (): void => {
    if (flushing || pending.length === 0) return;
    const data = pending.join('');
    pending = [];
    // A failed write or sync crashes the server: a floor that silently skipped work would read too low.
    flushing = new Promise<void>((resolve, reject) => {
      write(fd, data, (error) =>
        error ? reject(error) : fdatasync(fd, (syncError) => (syncError ? reject(syncError) : resolve())),
      );
    }).then(() => {
      flushing = undefined;
      flush();
    });
  };
  const middleware = defineMiddleware('audit-floor', (ctx, next) => {
    const id = randomUUID();
    const time = new Date().toISOString();
    return next().then((result) => {
      const line = JSON.stringify({ id, time, method: ctx.method, target: ctx.target, previous });
      previous = createHash('sha256').update(line).digest('hex');
      pending.push(`${line}\n`);
      flush();
      return result;
    });
  });
  return {
    middleware,
    close: async () => {
      while (flushing) await flushing;
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
