import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { staticPrincipal } from '@mcp-harden/auth';
import type { JsonObject, Principal } from '@mcp-harden/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain, fromPolicy, type LoadedPolicy, parsePolicy } from '../src/index.js';
import { buildNotes, connectInMemory, outcome } from './helpers.js';

const POLICY_TEXT = readFileSync(join(import.meta.dirname, 'fixtures/notes.policy.yaml'), 'utf8');

const principal = (subject: string, scopes: string[], roles: string[], tenant?: string): Principal => ({
  subject,
  scopes,
  roles,
  ...(tenant ? { tenant } : {}),
  claims: {},
});

const PRINCIPALS: Record<string, Principal | null> = {
  'reader@acme': principal('rita', ['notes:read'], [], 'acme'),
  'writer@acme': principal('walt', ['notes:write'], [], 'acme'),
  'admin@acme': principal('ada', [], ['admin'], 'acme'),
  'reader@globex': principal('gus', ['notes:read'], ['editor'], 'globex'),
  'reader without tenant': principal('nora', ['notes:read'], []),
  'notes:admin scope': principal('sam', ['notes:admin', 'notes:write'], [], 'acme'),
  anonymous: null,
};

type Call = { tool: string; arguments?: JsonObject } | { resource: string } | { prompt: string };

const CALLS: Call[] = [
  { tool: 'notes.search', arguments: { query: 'q' } },
  { tool: 'notes.write', arguments: { body: 'x' } },
  { tool: 'notes.write', arguments: { tenant: 'acme', body: 'x' } },
  { tool: 'notes.write', arguments: { tenant: 'globex', body: 'x' } },
  { tool: 'admin.purge' },
  { tool: 'debug.env' },
  { tool: 'legacy.export' },
  { tool: 'no.such.tool' },
  { resource: 'notes://acme/1' },
  { resource: 'notes://globex/7' },
  { prompt: 'summarize' },
];

describe('explain agrees with a running hardened server', () => {
  let policy: LoadedPolicy;
  beforeAll(() => {
    // Authentication is replaced per principal (staticPrincipal); the key file is never read.
    policy = parsePolicy(POLICY_TEXT, {
      filename: 'notes.policy.yaml',
      env: { NOTES_KEYS_FILE: '/nonexistent' },
    });
  });

  const cases = Object.entries(PRINCIPALS).flatMap(([who, p]) => CALLS.map((call) => ({ who, p, call })));
  const connections: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const c of connections) await c.close();
  });

  it(`covers at least 50 (principal, call) cases`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
  });

  it('gives the server decision for every case: allowed, or the same error code', async () => {
    const rows: string[] = [];
    let allowed = 0;
    for (const [who, p] of Object.entries(PRINCIPALS)) {
      const authentication = p
        ? staticPrincipal(p)
        : // No credentials: nothing sets a principal, as on a server without authentication.
          async (_ctx: unknown, next: () => Promise<unknown>) => next();
      const pipeline = fromPolicy(
        { ...policy, effective: { ...policy.effective, rateLimit: undefined } },
        { authentication: authentication as never },
      );
      // Outermost observer: the rule the server's rbac recorded, allowed or refused.
      let decided: string | undefined;
      const observe = async (
        ctx: { state: { authorization?: { rule: string } } },
        next: () => Promise<unknown>,
      ) => {
        try {
          return await next();
        } finally {
          decided = ctx.state.authorization?.rule;
        }
      };
      const conn = await connectInMemory(
        buildNotes({ use: [observe as never, ...pipeline.use], policies: pipeline.policies }),
      );
      connections.push(conn);
      for (const call of CALLS) {
        decided = undefined;
        const server = (await outcome(() =>
          'tool' in call
            ? conn.client.callTool({ name: call.tool, arguments: call.arguments ?? {} })
            : 'resource' in call
              ? conn.client.readResource({ uri: call.resource })
              : conn.client.getPrompt({ name: call.prompt }),
        )) as { ok?: unknown; error?: { code?: string } };
        const why = await explain(policy, { ...call, principal: p } as never);
        // The server's own rbac instance answers the same.
        const own = await explain(policy, { ...call, principal: p } as never, {
          authorization: pipeline.parts.authorization,
        });
        expect(own).toEqual(why);
        const serverAllowed = server.ok !== undefined;
        rows.push(
          `${who} ${JSON.stringify(call)}: explain=${why.allowed}/${why.errorCode} server=${serverAllowed}/${server.error?.code}`,
        );
        expect(why.allowed, rows.at(-1)).toBe(serverAllowed);
        if (!serverAllowed) expect(why.errorCode, rows.at(-1)).toBe(server.error?.code);
        expect(why.rule, rows.at(-1)).toBe(decided);
        if (serverAllowed) allowed++;
      }
    }
    expect(rows).toHaveLength(cases.length);
    // Both outcomes are well represented, so agreement is not agreement on "always deny".
    expect(allowed).toBeGreaterThanOrEqual(15);
    expect(cases.length - allowed).toBeGreaterThanOrEqual(15);
  });

  it('names the deciding rule and the limits that apply', async () => {
    const why = await explain(policy, { tool: 'notes.write', principal: PRINCIPALS['reader@acme']! });
    expect(why).toMatchObject({
      allowed: false,
      rule: 'requireScopes(notes:write)',
      reason: 'missing scopes',
      requiredScopes: ['notes:write'],
      errorCode: 'ERR_NOT_FOUND',
      limits: {
        cost: 1,
        principalTool: { points: 2, duration: 60 },
        principal: { points: 1000, duration: 60 },
      },
    });
    const ok = await explain(policy, { tool: 'notes.search', principal: PRINCIPALS['writer@acme']! });
    expect(ok).toMatchObject({ allowed: true, rule: 'requireScopes(notes:read)' });
    expect(ok.errorCode).toBeUndefined();
  });

  it('refuses a request that names no target or several', async () => {
    await expect(explain(policy, { principal: null })).rejects.toThrow(TypeError);
    await expect(explain(policy, { tool: 'a', prompt: 'b', principal: null })).rejects.toThrow(TypeError);
  });
});
