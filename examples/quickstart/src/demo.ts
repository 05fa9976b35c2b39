import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chainFiles, verifyChain } from '@mcp-harden/audit';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { context, propagation, type Span, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { Persona, Tenant } from './auth.js';
import { configFromEnv } from './config.js';
import { type RunningQuickstart, startQuickstart } from './server.js';

/** What one HTTP exchange looked like, as the client saw it. */
interface Exchange {
  status: number;
  wwwAuthenticate: string | null;
  retryAfter: string | null;
  /** The JSON-RPC error of a refused request, when the body held one. */
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** The outcome of one scripted step. */
export interface StepResult {
  step: string;
  expected: string;
  ok: boolean;
}

/** What {@link runDemo} returns: every step's outcome, and whether all matched. */
export interface DemoResult {
  ok: boolean;
  steps: StepResult[];
}

let otelGlobalsSet = false;
/** What an application does once with the OpenTelemetry SDK: async context and W3C propagation. */
function setOtelGlobals(): void {
  if (otelGlobalsSet) return;
  otelGlobalsSet = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/** A client that sends one persona's token and remembers the last HTTP response it got. */
async function connectAs(url: URL, token: string | undefined) {
  const last: { exchange?: Exchange } = {};
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const method = init?.method ?? 'GET';
    if (method === 'POST') {
      const exchange: Exchange = {
        status: response.status,
        wwwAuthenticate: response.headers.get('www-authenticate'),
        retryAfter: response.headers.get('retry-after'),
      };
      if (!response.ok) {
        const body = await response
          .clone()
          .json()
          .catch(() => undefined);
        exchange.error = (body as { error?: Exchange['error'] } | undefined)?.error;
      }
      last.exchange = exchange;
    }
    return response;
  };
  const client = new Client({ name: 'quickstart-demo', version: '0.1.0' });
  const transport = new StreamableHTTPClientTransport(url, {
    fetch: recordingFetch,
    requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  });
  return { client, transport, last };
}

/** The W3C trace context of the active span, for `params._meta`: the server span becomes its child. */
function traceMeta(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

function describeRefusal(exchange: Exchange | undefined): string {
  if (!exchange) return 'no HTTP response';
  const parts = [`HTTP ${exchange.status}`];
  if (exchange.error) {
    parts.push(`${String(exchange.error.data?.code ?? exchange.error.code)}`);
    const { code: _code, ...rest } = exchange.error.data ?? {};
    if (Object.keys(rest).length > 0) parts.push(`data ${JSON.stringify(rest)}`);
  }
  if (exchange.wwwAuthenticate) parts.push(`WWW-Authenticate: ${exchange.wwwAuthenticate}`);
  if (exchange.retryAfter) parts.push(`Retry-After: ${exchange.retryAfter}`);
  return parts.join(', ');
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? `[${c.type}]`).join('\n');
}

/** Prints finished spans as a tree, children indented under their parent. */
function spanTree(spans: readonly ReadableSpan[]): string[] {
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  const children = new Map<string | undefined, ReadableSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    const key = parent !== undefined && ids.has(parent) ? parent : undefined;
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    const level = (children.get(parent) ?? []).sort((a, b) =>
      a.startTime[0] === b.startTime[0] ? a.startTime[1] - b.startTime[1] : a.startTime[0] - b.startTime[0],
    );
    for (const span of level) {
      const error = span.attributes['error.type'];
      const status = span.status.code === SpanStatusCode.ERROR ? ` [error ${String(error ?? '')}]` : '';
      lines.push(`${'  '.repeat(depth)}- ${span.name}${status}`);
      walk(span.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines;
}

/**
 * Starts the quickstart in-process on a free loopback port and plays a scripted session with
 * the official SDK client: allowed and refused calls, step-up, a rate-limit refusal and
 * redacted output; then prints the audit records and the span tree of the session.
 */
export async function runDemo(
  print: (line: string) => void = console.log,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DemoResult> {
  setOtelGlobals();
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = tracerProvider.getTracer('quickstart-demo');

  // The demo always uses the embedded issuer (it needs its tokens) and a low write budget.
  const ownAuditDir = env.AUDIT_DIR ? undefined : mkdtempSync(join(tmpdir(), 'mcp-harden-quickstart-'));
  const config = configFromEnv({
    ...env,
    HOST: '127.0.0.1',
    PORT: '0',
    MCP_AUTH_JWKS_URL: '',
    MCP_AUTH_ISSUER: '',
    MCP_AUTH_AUDIENCE: '',
    MCP_RATE_WRITE_PER_MIN: env.MCP_RATE_WRITE_PER_MIN || '3',
    AUDIT_DIR: env.AUDIT_DIR || ownAuditDir,
  });
  const since = new Date();
  const steps: StepResult[] = [];
  let running: RunningQuickstart | undefined;
  const clients: Client[] = [];
  try {
    running = await startQuickstart(config, { tracerProvider, log: (line) => print(`  server: ${line}`) });
    const server = running;
    const tokens = server.devTokens!;
    print(
      `Server ${server.url.href}, issuer ${server.issuer}, notes_write limit ${config.writesPerMinute}/min`,
    );

    const as = async (tenant: Tenant, persona: Persona | 'anonymous') => {
      const c = await connectAs(server.url, persona === 'anonymous' ? undefined : tokens[tenant][persona]);
      clients.push(c.client);
      return c;
    };

    /** Runs one step inside a client span, and checks the outcome the script expects. */
    const step = async (title: string, expected: string, body: (span: Span) => Promise<boolean>) => {
      const n = steps.length + 1;
      print('');
      print(`${n}. ${title}`);
      const ok = await tracer.startActiveSpan(`demo step ${n}: ${title}`, async (span) => {
        try {
          return await body(span);
        } catch (err) {
          print(`   unexpected error: ${(err as Error).message}`);
          return false;
        } finally {
          span.end();
        }
      });
      print(`   ${ok ? 'as expected' : `UNEXPECTED (expected ${expected})`}`);
      steps.push({ step: title, expected, ok });
    };
    const call = (client: Client, name: string, args: Record<string, unknown> = {}) =>
      client.callTool({ name, arguments: args, _meta: traceMeta() });
    /** Expects `run` to be refused; prints and checks the HTTP status and stable code. */
    const refused = async (
      run: () => Promise<unknown>,
      last: { exchange?: Exchange },
      status: number,
      code: string,
    ) => {
      try {
        const result = await run();
        print(`   -> allowed: ${textOf(result)}`);
        return false;
      } catch {
        print(`   -> refused: ${describeRefusal(last.exchange)}`);
        return last.exchange?.status === status && last.exchange.error?.data?.code === code;
      }
    };

    const anonymous = await as('acme', 'anonymous');
    await step('connect without a token', '401 with a WWW-Authenticate challenge', async () =>
      refused(
        () => anonymous.client.connect(anonymous.transport),
        anonymous.last,
        401,
        'ERR_UNAUTHENTICATED',
      ),
    );

    const reader = await as('acme', 'reader');
    await reader.client.connect(reader.transport);
    await step('acme reader: whoami', 'allowed', async () => {
      const text = textOf(await call(reader.client, 'whoami'));
      print(`   -> ${text}`);
      return text.includes('"subject":"acme-reader"') && text.includes('"tenant":"acme"');
    });
    await step('acme reader: notes_list', 'allowed, acme notes only', async () => {
      const text = textOf(await call(reader.client, 'notes_list'));
      print(`   -> ${text.replaceAll('\n', ' | ')}`);
      return text.includes('1: CI credentials');
    });
    await step('acme reader: read notes://globex/1 (another tenant)', '403 ERR_FORBIDDEN', async () =>
      refused(
        () => reader.client.readResource({ uri: 'notes://globex/1', _meta: traceMeta() }),
        reader.last,
        403,
        'ERR_FORBIDDEN',
      ),
    );
    await step('acme reader: admin_reset (needs role admin)', '403 ERR_FORBIDDEN', async () =>
      refused(() => call(reader.client, 'admin_reset'), reader.last, 403, 'ERR_FORBIDDEN'),
    );

    const writer = await as('acme', 'writer');
    await writer.client.connect(writer.transport);
    const note = { title: 'Standup', body: 'Ship the quickstart.' };
    await step(
      'step-up: acme reader calls notes_write, then retries with a writer token',
      '403 insufficient_scope naming notes:write, then allowed',
      async () => {
        const first = await refused(
          () => call(reader.client, 'notes_write', note),
          reader.last,
          403,
          'ERR_INSUFFICIENT_SCOPE',
        );
        const challenge = reader.last.exchange?.wwwAuthenticate ?? '';
        const named = challenge.includes('insufficient_scope') && challenge.includes('notes:write');
        const text = textOf(await call(writer.client, 'notes_write', note));
        print(`   -> retried as acme writer: ${text}`);
        return first && named && text.startsWith('Saved note');
      },
    );
    await step(
      `rate limit: acme writer keeps writing (limit ${config.writesPerMinute}/min)`,
      '429 ERR_RATE_LIMITED with Retry-After and retryAfterMs',
      async () => {
        // One write was spent in the step-up; the budget runs out within `limit` more calls.
        for (let i = 0; i < config.writesPerMinute; i++) {
          try {
            const text = textOf(await call(writer.client, 'notes_write', { ...note, title: `Burst ${i}` }));
            print(`   -> ${text}`);
          } catch {
            print(`   -> refused: ${describeRefusal(writer.last.exchange)}`);
            const e = writer.last.exchange;
            return (
              e?.status === 429 &&
              e.error?.data?.code === 'ERR_RATE_LIMITED' &&
              typeof e.error.data.retryAfterMs === 'number' &&
              e.retryAfter !== null
            );
          }
        }
        return false;
      },
    );
    await step('acme reader: notes_read { id: "1" }', 'the access key and email redacted', async () => {
      const text = textOf(await call(reader.client, 'notes_read', { id: '1' }));
      print(`   -> ${text.replaceAll('\n', ' | ')}`);
      return (
        text.includes('[REDACTED:aws-access-key-id]') &&
        text.includes('[REDACTED:email]') &&
        !text.includes('AKIA') &&
        !text.includes('@acme.example.com')
      );
    });
    await step('acme reader: read notes://acme/1 and get summarize_notes', 'allowed, redacted', async () => {
      const resource = await reader.client.readResource({ uri: 'notes://acme/1', _meta: traceMeta() });
      const prompt = await reader.client.getPrompt({ name: 'summarize_notes', _meta: traceMeta() });
      const texts = [
        ...resource.contents.map((c) => ('text' in c ? c.text : '[blob]')),
        ...prompt.messages.map((m) => String((m.content as { text?: string }).text ?? '')),
      ];
      for (const t of texts) print(`   -> ${t.replaceAll('\n', ' | ').slice(0, 160)}`);
      return texts.every((t) => !t.includes('AKIA') && !t.includes('@acme.example.com'));
    });

    for (const client of clients.splice(0)) await client.close();

    print('');
    const records = await server.readAudit(since);
    print(`Audit records of this session (${records.length}, from ${server.auditSink}):`);
    for (const e of records) {
      const who = e.principal ? `${e.principal.subject}@${e.principal.tenant ?? '-'}` : 'anonymous';
      const decision =
        e.decision.result === 'allowed' ? 'allowed' : `denied by ${e.decision.by} (${e.decision.code})`;
      const extras = [
        e.rateLimit ? `rateLimit ${e.rateLimit.level}${e.rateLimit.refused ? ' refused' : ''}` : '',
        e.redactions ? `redactions ${JSON.stringify(e.redactions)}` : '',
        e.traceId ? `trace ${e.traceId.slice(0, 8)}` : '',
      ].filter(Boolean);
      print(
        `  ${e.method} ${e.target ?? ''} | ${who} | ${decision} | outcome ${e.outcome.status}${e.outcome.code ? ` ${e.outcome.code}` : ''}${extras.length ? ` | ${extras.join(', ')}` : ''}`,
      );
    }
    if (server.auditSink !== 'postgresql') {
      const report = await verifyChain(chainFiles(server.auditSink));
      print(`Audit hash chain: ${report.ok ? 'intact' : 'BROKEN'} (${report.records} records)`);
    }
    await server.close();
    running = undefined;

    print('');
    print('Span tree (client step spans, server request spans, handler spans):');
    await tracerProvider.forceFlush();
    for (const line of spanTree(exporter.getFinishedSpans())) print(`  ${line}`);
  } finally {
    for (const client of clients) await client.close().catch(() => {});
    await running?.close().catch(() => {});
    await tracerProvider.shutdown();
    if (ownAuditDir) rmSync(ownAuditDir, { recursive: true, force: true });
  }
  const ok = steps.length > 0 && steps.every((s) => s.ok);
  print('');
  print(ok ? `done: all ${steps.length} steps as expected` : 'done: some steps were UNEXPECTED');
  return { ok, steps };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runDemo();
  process.exitCode = result.ok ? 0 : 1;
}
