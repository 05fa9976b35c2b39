import { createHash } from 'node:crypto';
import { staticPrincipal } from '@mcp-harden/auth';
import { closeAll } from '@mcp-harden/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { fromPolicy, parsePolicy } from '../src/index.js';
import { buildNotes, connectInMemory, hostHttp, tempDir } from './helpers.js';

const API_KEY = 'mk_test_0f3c9a7e5b1d4f2a8c6e0b9d7f5a3c1e';
const DIGEST = `sha256:${createHash('sha256').update(API_KEY).digest('hex')}`;

describe('fromPolicy', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('builds API-key auth, rbac and an audit trail that records every decision', async () => {
    const text = `version: 1
server: { name: notes, version: 1.0.0, owner: team }
roles: { reporter: {} }
authentication:
  apiKeys:
    keys:
      - { digest: "${DIGEST}", subject: reporting-job, scopes: [notes:read], roles: [reporter] }
tools:
  notes.search: { rule: { roles: [reporter] } }
  admin.purge: { rule: { scopes: [notes:admin] } }
audit:
  sinks: [{ type: stdout }]
  spillDir: ${tmp.dir}
`;
    const lines: string[] = [];
    const pipeline = fromPolicy(parsePolicy(text), {
      auditStream: {
        write(chunk, callback) {
          lines.push(chunk);
          callback();
          return true;
        },
      },
    });
    expect(pipeline.use.map((m) => m.middlewareName)).toEqual(['audit', 'auth', 'rbac']);
    const host = await hostHttp(() => buildNotes(pipeline));
    try {
      const call = (name: string, key?: string) =>
        fetch(host.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...(key ? { 'x-api-key': key } : {}),
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name, arguments: { query: 'q' } },
          }),
        });
      const ok = await call('notes.search', API_KEY);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('results for q');
      const denied = await call('admin.purge', API_KEY);
      expect(await denied.text()).toContain('ERR_NOT_FOUND');
      const wrongKey = await call('notes.search', `${API_KEY}x`);
      // The plain SDK host answers with the JSON-RPC error (@mcp-harden/http would make it a 401).
      expect(await wrongKey.text()).toContain('ERR_UNAUTHENTICATED');
    } finally {
      await host.close();
      await closeAll(pipeline.use);
    }
    const events = lines
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const calls = events.filter((e) => e.method === 'tools/call');
    expect(calls.map((e) => [e.target, (e.outcome as { status?: string }).status ?? e.outcome])).toHaveLength(
      3,
    );
    expect(calls[0]).toMatchObject({ target: 'notes.search', principal: { subject: 'reporting-job' } });
    expect(calls[1]).toMatchObject({ target: 'admin.purge', authorization: { allowed: false } });
    // The API key itself is never in the trail.
    expect(lines.join('')).not.toContain(API_KEY);
  });

  it('throws TypeError for a bearer keysFile that is not a JWKS', () => {
    const text = `version: 1
server: { name: notes, version: 1.0.0, owner: team }
authentication:
  bearer: { issuer: "https://i.example/", audience: notes, keysFile: /nonexistent/jwks.json, algorithms: [ES256] }
`;
    expect(() => fromPolicy(parsePolicy(text))).toThrow(TypeError);
  });

  it('turns telemetry on with the real OpenTelemetry SDK and redaction from the file', async () => {
    const text = `version: 1
server: { name: notes, version: 1.0.0, owner: team }
tools:
  debug.env: { rule: allow, redaction: { rules: { aws-access-key-id: remove } } }
telemetry: { enabled: true }
`;
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const pipeline = fromPolicy(parsePolicy(text), {
      authentication: staticPrincipal({ subject: 'rita', scopes: [], roles: [] }),
      telemetry: { tracerProvider },
    });
    expect(pipeline.use.map((m) => m.middlewareName)).toEqual(['telemetry', 'auth', 'rbac', 'sanitize']);
    expect(pipeline.policies.tools?.['debug.env']?.sanitize).toEqual({
      rules: { 'aws-access-key-id': 'remove' },
    });
    const conn = await connectInMemory(buildNotes(pipeline));
    try {
      const result = await conn.client.callTool({ name: 'debug.env', arguments: {} });
      const out = JSON.stringify(result);
      expect(out).not.toContain('AKIAIOSFODNN7EXAMPLE');
      expect(out).not.toContain('[REDACTED:aws-access-key-id]'); // removed, per the target's strategy
    } finally {
      await conn.close();
    }
    const spans = exporter.getFinishedSpans().map((s) => s.name);
    expect(spans).toContain('tools/call debug.env');
    await tracerProvider.shutdown();
  });

  it('maps tool versions and deprecation to versioning(): sunset refused, latest served with its version', async () => {
    const text = `version: 1
server: { name: notes, version: 1.0.0, owner: team }
tools:
  notes.search: { rule: allow, version: 2.0.0 }
  notes.search.v1.0.0:
    rule: allow
    version: 1.0.0
    deprecation: { sunset: 2020-01-01, replacement: notes.search }
`;
    const policy = parsePolicy(text);
    const pipeline = fromPolicy(policy, {
      authentication: staticPrincipal({ subject: 'rita', scopes: [], roles: [] }),
    });
    expect(pipeline.use.map((m) => m.middlewareName)).toEqual(['auth', 'rbac', 'versioning']);
    const hardened = buildNotes(pipeline);
    hardened.server.registerTool('notes.search.v1.0.0', { description: 'old search' }, async () => ({
      content: [{ type: 'text', text: 'old' }],
    }));
    const conn = await connectInMemory(hardened);
    try {
      const latest = await conn.client.callTool({ name: 'notes.search', arguments: { query: 'q' } });
      expect(latest._meta).toMatchObject({ 'mcp-harden/version': '2.0.0' });
      await expect(
        conn.client.callTool({ name: 'notes.search.v1.0.0', arguments: {} }),
      ).rejects.toMatchObject({
        data: { code: 'ERR_TOOL_SUNSET', replacement: 'notes.search' },
      });
    } finally {
      await conn.close();
    }
  });

  it('refuses a deprecation without a version and a version that contradicts the tool name', () => {
    const text = `version: 1
server: { name: notes, version: 1.0.0, owner: team }
tools:
  a: { rule: allow, deprecation: { sunset: 2027-01-01 } }
  b.v1.0.0: { rule: allow, version: 1.2.0 }
`;
    expect(() => parsePolicy(text, { filename: 'p.yaml' })).toThrow(
      /p\.yaml:4:\d+: tools\.a\.deprecation: a deprecation needs the version[\s\S]*tools\["b\.v1\.0\.0"\]\.version: must be 1\.0\.0/,
    );
  });
});
