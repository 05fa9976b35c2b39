import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { defineMiddleware, ERROR_CODES, HardenError } from '@mcp-harden/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { telemetry } from '../src/index.js';
import { buildServer, connectInMemory } from './fixture.js';
import { Otel } from './harness.js';

/** A port that was free a moment ago on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (enough of it for these metrics). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

const PROMQL_WORDS = new Set([
  'sum',
  'rate',
  'increase',
  'histogram_quantile',
  'by',
  'without',
  'and',
  'or',
  'unless',
  'label_values',
]);

interface Query {
  metrics: string[];
  labels: string[];
  errorCodes: string[];
}

/** Pulls metric names, label names and `error_code` values out of a PromQL expression. */
function analyse(expr: string): Query {
  const labels: string[] = [];
  const errorCodes: string[] = [];
  let rest = expr.replace(/\{([^}]*)\}/g, (_m, inner: string) => {
    for (const matcher of inner.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
      labels.push(matcher[1]!);
      if (matcher[1] === 'error_code') errorCodes.push(...matcher[3]!.split('|'));
    }
    return ' ';
  });
  rest = rest.replace(/\b(?:by|without)\s*\(([^)]*)\)/g, (_m, inner: string) => {
    labels.push(
      ...inner
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    return ' ';
  });
  rest = rest.replace(
    /label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/g,
    (_m, m, l) => {
      labels.push(l);
      return ` ${m} `;
    },
  );
  rest = rest
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/"[^"]*"/g, ' ')
    .replace(/\boffset\s+\w+/g, ' ');
  const metrics = [...rest.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((word) => !PROMQL_WORDS.has(word) && !/^\d/.test(word));
  return { metrics, labels, errorCodes };
}

const assets = new URL('../assets/', import.meta.url);

describe('Prometheus exposition', () => {
  let exporter: PrometheusExporter;
  let meterProvider: MeterProvider;
  let scraped: Sample[];
  let body: string;

  beforeAll(async () => {
    const port = await freePort();
    exporter = new PrometheusExporter({ host: '127.0.0.1', port, preventServerStart: true });
    await exporter.startServer();
    meterProvider = new MeterProvider({ readers: [exporter] });
    const tracing = new Otel();
    const tm = telemetry({ meterProvider });
    const refuse = defineMiddleware('auth', async (ctx, next) => {
      if (ctx.arguments?.text === 'no-credentials') throw new HardenError('ERR_UNAUTHENTICATED');
      return next();
    });
    const { client, close } = await connectInMemory(
      buildServer([tm, refuse], tracing.tracerProvider.getTracer('u'), {}),
    );
    try {
      await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
      await client.callTool({ name: 'fail', arguments: {} });
      await client.callTool({ name: 'echo', arguments: { text: 'no-credentials' } }).catch(() => {});
      tm.recordSessionEnd(12, { transport: 'http', protocolVersion: '2025-06-18' });
    } finally {
      await close();
      await tracing.shutdown();
    }
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    body = await response.text();
    scraped = parseExposition(body);
  });

  afterAll(async () => {
    await meterProvider?.shutdown();
  });

  it('serves mcp_server_operation_duration buckets over HTTP on loopback', () => {
    const buckets = scraped.filter((s) => s.name === 'mcp_server_operation_duration_bucket');
    const echo = buckets.filter(
      (s) => s.labels.gen_ai_tool_name === 'echo' && s.labels.error_type === undefined,
    );
    expect(echo.map((s) => s.labels.le)).toEqual([
      '0.01',
      '0.02',
      '0.05',
      '0.1',
      '0.2',
      '0.5',
      '1',
      '2',
      '5',
      '10',
      '30',
      '60',
      '120',
      '300',
      '+Inf',
    ]);
    expect(echo.at(-1)?.value).toBe(1);
    expect(echo.at(-1)?.labels.mcp_method_name).toBe('tools/call');
    const toolError = buckets.find((s) => s.labels.error_type === 'tool_error' && s.labels.le === '+Inf');
    expect(toolError?.value).toBe(1);
    const refused = buckets.find(
      (s) => s.labels.error_type === String(ERROR_CODES.ERR_UNAUTHENTICATED.jsonRpc),
    );
    expect(refused).toBeDefined();
  });

  it('serves the refusal counter and the session histogram', () => {
    const refusals = scraped.filter((s) => s.name === 'mcp_harden_refusals_total');
    expect(refusals).toEqual([
      {
        name: 'mcp_harden_refusals_total',
        labels: expect.objectContaining({
          error_code: 'ERR_UNAUTHENTICATED',
          mcp_harden_refusal_source: 'auth',
          mcp_method_name: 'tools/call',
        }),
        value: 1,
      },
    ]);
    const session = scraped.find((s) => s.name === 'mcp_server_session_duration_sum');
    expect(session?.value).toBe(12);
    expect(body).not.toContain('mcp_session_id');
    expect(body).not.toContain('no-credentials');
  });

  it('ships alerting rules and a dashboard that only use metrics and labels it emits', () => {
    const names = new Set(scraped.map((s) => s.name));
    const labelNames = new Set(scraped.flatMap((s) => Object.keys(s.labels)));
    const rules = parse(readFileSync(new URL('prometheus-rules.yaml', assets), 'utf8')) as {
      groups: Array<{
        rules: Array<{ alert: string; expr: string; for?: string; annotations?: Record<string, string> }>;
      }>;
    };
    const dashboard = JSON.parse(readFileSync(new URL('grafana-dashboard.json', assets), 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string; legendFormat?: string }> }>;
      templating: { list: Array<{ query: unknown }> };
    };
    const alertRules = rules.groups.flatMap((g) => g.rules);
    expect(alertRules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'McpHighErrorRate',
        'McpLatencyTail',
        'McpAuthenticationFailures',
        'McpRateLimitSpike',
      ]),
    );
    const exprs = [
      ...alertRules.map((r) => r.expr),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.templating.list
        .map((v) => v.query)
        .filter((q): q is string => typeof q === 'string' && q.includes('(')),
    ];
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) {
      const query = analyse(expr);
      expect(query.metrics.length, expr).toBeGreaterThan(0);
      for (const metric of query.metrics) expect(names, `${metric} in ${expr}`).toContain(metric);
      for (const label of query.labels)
        if (label !== 'le') expect(labelNames, `${label} in ${expr}`).toContain(label);
      for (const code of query.errorCodes) expect(Object.keys(ERROR_CODES), expr).toContain(code);
    }
    const templated = [
      ...alertRules.flatMap((r) => Object.values(r.annotations ?? {})),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.legendFormat ?? '')),
    ].join(' ');
    for (const m of templated.matchAll(/\$labels\.([a-zA-Z_]+)|\{\{\s*([a-zA-Z_]+)\s*\}\}/g)) {
      expect(labelNames).toContain(m[1] ?? m[2]);
    }
    const errorRate = alertRules.find((r) => r.alert === 'McpHighErrorRate');
    expect(errorRate?.expr).toContain('> 0.005');
    expect(errorRate?.for).toBe('5m');
    const tail = alertRules.find((r) => r.alert === 'McpLatencyTail');
    expect(tail?.expr).toMatch(/histogram_quantile\(0\.99[\s\S]*>\s*3 \* histogram_quantile\(0\.5/);
    expect(tail?.for).toBe('15m');
  });

  it('keeps docs/observability.md in step with the shipped rules and dashboard', () => {
    const doc = readFileSync(new URL('../../../docs/observability.md', import.meta.url), 'utf8');
    const block = (lang: string) => new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(doc)?.[1];
    expect(block('yaml')).toBe(readFileSync(new URL('prometheus-rules.yaml', assets), 'utf8'));
    expect(block('json')).toBe(readFileSync(new URL('grafana-dashboard.json', assets), 'utf8'));
  });
});
