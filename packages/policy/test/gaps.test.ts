import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileSink } from '@mcp-harden/audit';
import { staticPrincipal } from '@mcp-harden/auth';
import { type ServedMcp, serve } from '@mcp-harden/http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fromPolicy, parsePolicy } from '../src/index.js';
import { AUDIENCE, buildNotes, connectInMemory, ISSUER, localIssuer, tempDir } from './helpers.js';

const METADATA = 'https://notes.test.example/.well-known/oauth-protected-resource/mcp';

const bearerPolicy = (jwksFile: string) => `version: 1
server: { name: notes, version: 1.0.0, owner: team }
authentication:
  bearer: { issuer: "${ISSUER}", audience: "${AUDIENCE}", keysFile: "${jwksFile}", algorithms: [ES256] }
tools:
  notes.search: { rule: { scopes: [notes:read] } }
`;

const mcpPost = (url: URL, token?: string) =>
  fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });

describe('fromPolicy challenge: a policy-built verifier at the HTTP edge', () => {
  const tmp = tempDir();
  let served: ServedMcp | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });
  afterAll(() => tmp.cleanup());

  it('serve({ authenticate }) answers a token-less request 401 with resource_metadata and scope; a token is served', async () => {
    const issuer = await localIssuer(tmp.dir);
    const pipeline = fromPolicy(parsePolicy(bearerPolicy(issuer.jwksFile)), {
      challenge: { resourceMetadataUrl: METADATA, scopes: ['notes:read'] },
    });
    const auth = pipeline.parts.authentication;
    expect(auth?.authMethod).toBe('jwt');
    if (!auth) throw new Error('no authentication built');
    served = await serve({
      mode: 'stateless',
      createServer: () => buildNotes(pipeline),
      authenticate: (req) => auth.authenticateRequest(req),
    });

    const refused = await mcpPost(served.url);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${METADATA}", scope="notes:read"`,
    );
    const bad = await mcpPost(served.url, 'not-a-jwt');
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain(`resource_metadata="${METADATA}"`);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');

    const token = await issuer.mint({ sub: 'rita', scope: 'notes:read' });
    const client = new Client({ name: 'gaps-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(served.url, {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const result = await client.callTool({ name: 'notes.search', arguments: { query: 'q' } });
      expect(result.content).toEqual([{ type: 'text', text: 'results for q' }]);
    } finally {
      await client.close();
    }
  });

  it('without the challenge option the 401 challenge is a bare Bearer', async () => {
    const issuer = await localIssuer(tmp.dir);
    const auth = fromPolicy(parsePolicy(bearerPolicy(issuer.jwksFile))).parts.authentication;
    if (!auth) throw new Error('no authentication built');
    await expect(auth.authenticateRequest({ headers: {} })).rejects.toMatchObject({
      code: 'ERR_UNAUTHENTICATED',
      httpHeaders: { 'WWW-Authenticate': 'Bearer' },
    });
  });

  it('with bearer and API keys, anyOf lists both challenges, the bearer one with its metadata', async () => {
    const issuer = await localIssuer(tmp.dir);
    const text = `${bearerPolicy(issuer.jwksFile).replace(
      'authentication:\n',
      'authentication:\n  apiKeys: { keys: [{ digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000", subject: job }] }\n',
    )}`;
    const auth = fromPolicy(parsePolicy(text), { challenge: { resourceMetadataUrl: METADATA } }).parts
      .authentication;
    expect(auth?.authMethod).toBe('any-of');
    await expect(auth?.authenticateRequest({ headers: {} })).rejects.toMatchObject({
      code: 'ERR_UNAUTHENTICATED',
      httpHeaders: {
        'WWW-Authenticate': `Bearer resource_metadata="${METADATA}", ApiKey header="x-api-key"`,
      },
    });
  });

  it('refuses a challenge it could not apply with TypeError', async () => {
    const issuer = await localIssuer(tmp.dir);
    const withBearer = parsePolicy(bearerPolicy(issuer.jwksFile));
    const noAuth = parsePolicy('version: 1\nserver: { name: n, version: 1.0.0, owner: t }\n');
    const challenge = { resourceMetadataUrl: METADATA };
    expect(() => fromPolicy(noAuth, { challenge })).toThrow(/authentication\.bearer/);
    expect(() =>
      fromPolicy(withBearer, { challenge, authentication: staticPrincipal({ subject: 'local' }) }),
    ).toThrow(TypeError);
    expect(() => fromPolicy(withBearer, { challenge: { resourceMetadataUrl: 'not a url' } })).toThrow(
      /absolute URL/,
    );
  });
});

describe('fromPolicy auditSinks: sinks built in code', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  const auditPolicy = (spillDir: string) => `version: 1
server: { name: notes, version: 1.0.0, owner: team }
tools:
  notes.search: { rule: allow }
audit:
  sinks: [{ type: stdout }]
  spillDir: ${spillDir}
`;

  async function run(replace: boolean) {
    const dir = join(tmp.dir, replace ? 'replace' : 'append');
    const stdoutLines: string[] = [];
    mkdirSync(dir, { recursive: true });
    const codeFile = join(dir, 'code.log');
    const pipeline = fromPolicy(parsePolicy(auditPolicy(join(dir, 'spill'))), {
      authentication: staticPrincipal({ subject: 'local' }),
      auditStream: {
        write(chunk, callback) {
          stdoutLines.push(chunk);
          callback();
          return true;
        },
      },
      auditSinks: [fileSink({ path: codeFile, name: 'code-file' })],
      ...(replace ? { replaceAuditSinks: true } : {}),
    });
    const { client, close } = await connectInMemory(buildNotes(pipeline));
    await client.callTool({ name: 'notes.search', arguments: { query: 'q' } });
    // no rule and `default: deny`: refused as if it did not exist, and still audited
    await expect(client.callTool({ name: 'admin.purge', arguments: {} })).rejects.toThrow(/not found/);
    await close(); // closes the middleware: the audit trail flushes
    const fileEvents = readFileSync(codeFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as { event: { id: string; method: string; target: string | null } }).event);
    const lines = stdoutLines.flatMap((chunk) => chunk.split('\n')).filter((l) => l.trim() !== '');
    return { stdoutLines: lines, fileEvents };
  }

  it('appends the code sinks to the file sinks by default: both record every call', async () => {
    const { stdoutLines, fileEvents } = await run(false);
    const toolCalls = fileEvents.filter((e) => e.method === 'tools/call');
    expect(toolCalls.map((e) => e.target)).toEqual(['notes.search', 'admin.purge']);
    const stdoutIds = stdoutLines
      .map((l) => JSON.parse(l) as { id: string; method: string })
      .filter((e) => e.method === 'tools/call')
      .map((e) => e.id);
    expect(stdoutIds).toEqual(toolCalls.map((e) => e.id)); // the same events in both sinks
  });

  it('replaceAuditSinks: true uses only the code sinks', async () => {
    const { stdoutLines, fileEvents } = await run(true);
    expect(fileEvents.filter((e) => e.method === 'tools/call')).toHaveLength(2);
    expect(stdoutLines).toEqual([]);
  });

  it('refuses audit sinks it could not use with TypeError', () => {
    const noAudit = parsePolicy('version: 1\nserver: { name: n, version: 1.0.0, owner: t }\n');
    const sink = fileSink({ path: join(tmp.dir, 'unused.log') });
    expect(() => fromPolicy(noAudit, { auditSinks: [sink] })).toThrow(/audit section/);
    const withAudit = parsePolicy(auditPolicy(join(tmp.dir, 'spill-x')));
    expect(() => fromPolicy(withAudit, { replaceAuditSinks: true })).toThrow(/at least one sink/);
    expect(() => fromPolicy(withAudit, { auditSinks: sink as never })).toThrow(/array/);
  });
});
