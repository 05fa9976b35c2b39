import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bearerAuth } from '@mcp-harden/auth';
import type { TargetPolicy } from '@mcp-harden/core';
import { rateLimit } from '@mcp-harden/rate-limit';
import {
  all,
  allowAll,
  any,
  denyAll,
  rbac,
  requireRoles,
  requireScopes,
  requireTenant,
} from '@mcp-harden/rbac';
import { sanitize } from '@mcp-harden/sanitize';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPolicy, parsePolicy } from '../src/index.js';
import { AUDIENCE, buildNotes, hostHttp, ISSUER, localIssuer, outcome, tempDir } from './helpers.js';

const POLICY_TEXT = readFileSync(join(import.meta.dirname, 'fixtures/notes.policy.yaml'), 'utf8');

/** The same server, policy written in code: the factories and withPolicy() of each package. */
function codePipeline(jwks: { keys: object[] }) {
  const use = [
    bearerAuth({ issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], keys: jwks as never }),
    rbac({ scopeHierarchy: { 'notes:write': ['notes:read'] } }),
    rateLimit({ limits: { principal: { points: 1000, duration: 60 } } }),
    sanitize({ injection: 'flag' }),
  ];
  const policies: Record<string, TargetPolicy> = {
    'tool:notes.search': { rule: requireScopes('notes:read') },
    'tool:notes.write': {
      rule: all(requireScopes('notes:write'), requireTenant({ whenMissing: 'allow' })),
      rateLimit: { limit: { points: 2, duration: 60 } },
    },
    'tool:admin.purge': { rule: any(requireRoles('admin'), requireScopes('notes:admin')) },
    'tool:debug.env': { rule: allowAll },
    'tool:legacy.export': { rule: denyAll },
    // withPolicy() rules do not see the template rbac matched, so the tenant rule names it.
    'resource:notes://{tenant}/{id}': {
      rule: all(requireScopes('notes:read'), requireTenant({ template: 'notes://{tenant}/{id}' })),
    },
    'prompt:summarize': { rule: requireScopes('notes:read') },
  };
  return { use, policyFor: (kind: string, name: string) => policies[`${kind}:${name}`]! };
}

describe('a policy file and code are two ways to say one thing', () => {
  const tmp = tempDir();
  let issuer: Awaited<ReturnType<typeof localIssuer>>;
  let hosts: Array<Awaited<ReturnType<typeof hostHttp>>> = [];

  beforeAll(async () => {
    issuer = await localIssuer(tmp.dir);
    const policy = parsePolicy(POLICY_TEXT, {
      filename: 'notes.policy.yaml',
      env: { NOTES_KEYS_FILE: issuer.jwksFile },
    });
    const file = fromPolicy(policy);
    const code = codePipeline(issuer.jwks);
    hosts = [
      await hostHttp(() => buildNotes({ use: code.use }, { policyFor: code.policyFor })),
      await hostHttp(() => buildNotes(file)),
    ];
  });
  afterAll(async () => {
    for (const host of hosts) await host.close();
    tmp.cleanup();
  });

  /** Runs the same script of calls against a server and returns every outcome. */
  async function script(host: (typeof hosts)[number]): Promise<unknown[]> {
    const tokens = {
      reader: await issuer.mint({ sub: 'rita', scope: 'notes:read', tenant: 'acme' }),
      writer: await issuer.mint({ sub: 'walt', scope: 'notes:write', tenant: 'acme' }),
      admin: await issuer.mint({ sub: 'ada', scope: '', roles: ['admin'], tenant: 'acme' }),
      wrongAudience: await issuer.mint({ sub: 'eve', scope: 'notes:read', aud: 'https://other.example/' }),
    };
    const out: unknown[] = [];
    const clients: Client[] = [];
    const as = async (token: string) => {
      const c = await host.connect(token);
      clients.push(c);
      return c;
    };
    try {
      const reader = await as(tokens.reader);
      const writer = await as(tokens.writer);
      const admin = await as(tokens.admin);
      out.push(await outcome(async () => (await reader.listTools()).tools.map((t) => t.name).sort()));
      out.push(await outcome(async () => (await writer.listTools()).tools.map((t) => t.name).sort()));
      out.push(await outcome(async () => (await admin.listTools()).tools.map((t) => t.name).sort()));
      out.push(await outcome(() => reader.callTool({ name: 'notes.search', arguments: { query: 'q' } })));
      out.push(await outcome(() => reader.callTool({ name: 'notes.write', arguments: { body: 'x' } })));
      out.push(
        await outcome(() => writer.callTool({ name: 'notes.search', arguments: { query: 'implied' } })),
      );
      for (let i = 0; i < 3; i++) {
        out.push(await outcome(() => writer.callTool({ name: 'notes.write', arguments: { body: `n${i}` } })));
      }
      out.push(
        await outcome(() =>
          writer.callTool({ name: 'notes.write', arguments: { tenant: 'globex', body: 'x' } }),
        ),
      );
      out.push(await outcome(() => reader.callTool({ name: 'admin.purge', arguments: {} })));
      out.push(await outcome(() => admin.callTool({ name: 'admin.purge', arguments: {} })));
      out.push(await outcome(() => reader.callTool({ name: 'debug.env', arguments: {} })));
      out.push(await outcome(() => admin.callTool({ name: 'legacy.export', arguments: {} })));
      out.push(await outcome(() => reader.callTool({ name: 'no.such.tool', arguments: {} })));
      out.push(await outcome(() => reader.readResource({ uri: 'notes://acme/1' })));
      out.push(await outcome(() => reader.readResource({ uri: 'notes://globex/1' })));
      out.push(await outcome(() => admin.readResource({ uri: 'notes://acme/1' })));
      out.push(await outcome(() => reader.getPrompt({ name: 'summarize' })));
      out.push(await outcome(() => admin.getPrompt({ name: 'summarize' })));
      // Refused by auth: no token, and a token for another audience (raw HTTP, status and body).
      for (const token of [undefined, tokens.wrongAudience]) {
        const res = await fetch(host.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
        });
        const body = await res.text();
        out.push({ status: res.status, body: body.replace(/"id":\d+/, '') });
      }
    } finally {
      for (const c of clients) await c.close();
    }
    return out;
  }

  it('answers the same script of 22 calls identically, refusals included', async () => {
    const [fromCode, fromFile] = [await script(hosts[0]!), await script(hosts[1]!)];
    expect(fromFile).toEqual(fromCode);
    expect(fromFile).toHaveLength(22);
    // The script exercises what it claims: allow, deny, rate limit, redaction, unauthenticated.
    const codes = JSON.stringify(fromFile);
    expect(codes).toContain('ERR_RATE_LIMITED');
    expect(codes).toContain('ERR_NOT_FOUND');
    expect(codes).toContain('ERR_RESOURCE_NOT_FOUND');
    expect(codes).toContain('[REDACTED:aws-access-key-id]');
    expect(codes).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(codes).toContain('ERR_UNAUTHENTICATED');
    expect(fromFile[0]).toEqual({ ok: ['debug.env', 'notes.search'] });
    expect(fromFile[6]).toMatchObject({ ok: { content: [{ text: 'saved 2 chars' }] } });
    expect(fromFile[8]).toMatchObject({ error: { code: 'ERR_RATE_LIMITED' } });
  });
});
