import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** Installs the AsyncLocalStorage context manager (context is only global in the API). */
export function enableContext(): AsyncLocalStorageContextManager {
  return new AsyncLocalStorageContextManager().enable();
}

/** W3C trace context + baggage, as an application would register globally. */
export const w3cPropagator = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

/** A real OpenTelemetry SDK pair with in-memory exporters. */
export class Otel {
  readonly spanExporter = new InMemorySpanExporter();
  readonly tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(this.spanExporter)],
  });
  readonly metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  readonly reader = new PeriodicExportingMetricReader({
    exporter: this.metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });

  async spans(): Promise<ReadableSpan[]> {
    await this.tracerProvider.forceFlush();
    return this.spanExporter.getFinishedSpans();
  }

  /** The SERVER spans of the telemetry middleware. */
  async mcpSpans(): Promise<ReadableSpan[]> {
    return (await this.spans()).filter((s) => s.instrumentationScope.name === '@mcp-harden/telemetry');
  }

  /** Collects now and returns every metric of the telemetry scope. */
  async metrics(): Promise<MetricData[]> {
    this.metricExporter.reset();
    await this.reader.forceFlush();
    const all = this.metricExporter.getMetrics();
    const last = all[all.length - 1];
    return (last?.scopeMetrics ?? [])
      .filter((s) => s.scope.name === '@mcp-harden/telemetry')
      .flatMap((s) => s.metrics);
  }

  async metric(name: string): Promise<MetricData | undefined> {
    return (await this.metrics()).find((m) => m.descriptor.name === name);
  }

  async histogramPoints(name: string): Promise<DataPoint<Histogram>[]> {
    return ((await this.metric(name))?.dataPoints ?? []) as DataPoint<Histogram>[];
  }

  async counterPoints(name: string): Promise<DataPoint<number>[]> {
    return ((await this.metric(name))?.dataPoints ?? []) as DataPoint<number>[];
  }

  async shutdown(): Promise<void> {
    await this.tracerProvider.shutdown();
    await this.meterProvider.shutdown();
  }
}
