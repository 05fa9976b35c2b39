import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@mcp-harden/test-services';
import { createTestIssuer, type TestIssuer } from '@mcp-harden/testing';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/config.js';
import { type RunningQuickstart, startQuickstart } from '../src/server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = () => {};

/** One raw MCP request (stateless mode needs no initialize), so the HTTP status is visible. */
async function post(url: URL, token: string | undefined, method: string, params: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    body: (await response.json()) as {
      result?: { content?: Array<{ text?: string }> };
      error?: { data?: { code?: string; reason?: string; requiredScopes?: string[] } };
    },
  };
}

describe('with MCP_AUTH_* set, only that issuer is trusted', () => {
  const audience = 'https://notes.example.com/mcp';
  let trusted: TestIssuer;
  let external: RunningQuickstart;
  let dev: RunningQuickstart;
  const dirs: string[] = [];
  const auditDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'quickstart-trust-'));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    trusted = await createTestIssuer({ algorithm: 'RS256', audience });
    external = await startQuickstart(
      configFromEnv({
        PORT: '0',
        MCP_AUTH_JWKS_URL: trusted.jwksUri.href,
        MCP_AUTH_ISSUER: trusted.issuer,
        MCP_AUTH_AUDIENCE: audience,
        AUDIT_DIR: auditDir(),
      }),
      { log: quiet },
    );
    // A second quickstart in development mode: its embedded issuer's tokens must not work on the first.
    dev = await startQuickstart(configFromEnv({ PORT: '0', AUDIT_DIR: auditDir() }), { log: quiet });
  });

  afterAll(async () => {
    await external?.close();
    await dev?.close();
    await trusted?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('starts no development issuer and prints no tokens', () => {
    expect(external.devTokens).toBeUndefined();
    expect(external.issuer).toBe(trusted.issuer);
    expect(dev.devTokens?.acme.reader).toMatch(/^ey/);
  });

  it('accepts an RS256 token of the trusted issuer (official SDK client)', async () => {
    const token = await trusted.mintToken({
      sub: 'alice',
      scope: 'notes:read',
      roles: ['reader'],
      tenant: 'globex',
    });
    const client = new Client({ name: 'trust-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(external.url, {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      expect(JSON.stringify(whoami.content)).toContain('\\"subject\\":\\"alice\\",\\"tenant\\":\\"globex\\"');
      const note = await client.callTool({ name: 'notes_read', arguments: { id: '2' } });
      expect(JSON.stringify(note.content)).toContain('Q3 for globex');
    } finally {
      await client.close();
    }
  });

  it('refuses a token of the embedded development issuer with 401 invalid_token', async () => {
    const devToken = dev.devTokens!.acme.admin;
    // The same token works where its issuer is trusted...
    expect((await post(dev.url, devToken, 'tools/call', { name: 'whoami', arguments: {} })).status).toBe(200);
    // ...and nowhere else.
    const refused = await post(external.url, devToken, 'tools/call', { name: 'whoami', arguments: {} });
    expect(refused.status).toBe(401);
    expect(refused.body.error?.data?.code).toBe('ERR_UNAUTHENTICATED');
    expect(refused.challenge).toContain('error="invalid_token"');
    // The challenge points at the metadata of the public resource (the audience), not the bind address.
    expect(refused.challenge).toContain(
      'resource_metadata="https://notes.example.com/.well-known/oauth-protected-resource/mcp"',
    );
    expect(JSON.stringify(refused.body)).not.toContain(devToken);
  });

  it('refuses a trusted-issuer token minted for another audience, and a missing token', async () => {
    const other = await trusted.mintToken({
      sub: 'alice',
      scope: 'notes:read',
      tenant: 'acme',
      aud: 'https://other.example.com/mcp',
    });
    expect((await post(external.url, other, 'tools/list', {})).status).toBe(401);
    const none = await post(external.url, undefined, 'tools/list', {});
    expect(none.status).toBe(401);
    expect(none.body.error?.data?.reason).toBe('missing_credential');
  });

  it('refuses the prompt and the note resource to a trusted token without notes:read (step-up data)', async () => {
    const token = await trusted.mintToken({ sub: 'bob', scope: '', roles: [], tenant: 'acme' });
    const prompt = await post(external.url, token, 'prompts/get', { name: 'summarize_notes' });
    expect(prompt.status).toBe(403);
    expect(prompt.body.error?.data).toMatchObject({
      code: 'ERR_INSUFFICIENT_SCOPE',
      requiredScopes: ['notes:read'],
    });
    const note = await post(external.url, token, 'resources/read', { uri: 'notes://acme/1' });
    expect(note.status).toBe(403);
    expect(note.body.error?.data?.code).toBe('ERR_INSUFFICIENT_SCOPE');
  });

  it('serves /health, /ready and protected-resource metadata naming only the trusted issuer', async () => {
    expect((await fetch(new URL('/health', external.url))).status).toBe(200);
    expect((await fetch(new URL('/ready', external.url))).status).toBe(200);
    const metadata = (await (
      await fetch(new URL('/.well-known/oauth-protected-resource/mcp', external.url))
    ).json()) as Record<string, unknown>;
    expect(metadata.resource).toBe(audience);
    expect(metadata.authorization_servers).toEqual([trusted.issuer]);
    expect(metadata.scopes_supported).toEqual(['notes:read', 'notes:write']);
  });
});

describe('configuration', () => {
  it('refuses a half-set MCP_AUTH_* instead of falling back to the development issuer', () => {
    expect(() => configFromEnv({ MCP_AUTH_ISSUER: 'https://id.example.com' })).toThrow(TypeError);
  });

  it('refuses the development issuer on a non-loopback HOST', () => {
    expect(() => configFromEnv({ HOST: '0.0.0.0' })).toThrow(/not loopback/);
  });

  it('reads PORT, HOST and MCP_RATE_WRITE_PER_MIN with the documented defaults', () => {
    expect(configFromEnv({})).toMatchObject({ host: '127.0.0.1', port: 3000, writesPerMinute: 10 });
    expect(() => configFromEnv({ MCP_RATE_WRITE_PER_MIN: '0' })).toThrow(TypeError);
  });
});

describe('`pnpm start` (dist/main.js)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('serves on HOST:PORT, prints tokens that work, and drains on SIGTERM with exit code 0', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'quickstart-start-'));
    // `pnpm start` is `node dist/main.js` (built by test/global-setup.ts).
    child = spawn(process.execPath, ['dist/main.js'], {
      cwd: root,
      env: { PATH: process.env.PATH, PORT: String(port), AUDIT_DIR: dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let output = '';
    child.stderr!.setEncoding('utf8');
    const tokensPrinted = new Promise<void>((resolve, reject) => {
      child!.stderr!.on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('globex admin: ')) resolve();
      });
      child!.once('exit', () => reject(new Error(`exited early:\n${output}`)));
    });
    await tokensPrinted;
    expect(output).toContain(`mcp-harden quickstart on http://127.0.0.1:${port}/mcp`);
    const token = /globex writer: (\S+)/.exec(output)?.[1];
    const url = new URL(`http://127.0.0.1:${port}/mcp`);
    const whoami = await post(url, token, 'tools/call', { name: 'whoami', arguments: {} });
    expect(whoami.body.result?.content?.[0]?.text).toContain('"subject":"globex-writer"');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);
});
