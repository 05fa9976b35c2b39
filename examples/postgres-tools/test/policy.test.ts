import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '@mcp-harden/cli';
import { defineMiddleware } from '@mcp-harden/core';
import { parsePolicy, rbacOptionsOf } from '@mcp-harden/policy';
import { captureSurface, diffSurface, listSurface, readLock } from '@mcp-harden/versioning';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { describe, expect, it } from 'vitest';
import {
  createDatabase,
  createOrdersServer,
  DEV_PRINCIPALS,
  loadOrdersPolicy,
  POLICY_FILE,
} from '../src/index.js';
import { createServer } from '../src/surface.js';

const root = join(import.meta.dirname, '..');
type Hardened = ReturnType<typeof createServer>;

/** Connects the official SDK client in memory; `viaChain` sends requests through the middleware. */
async function connect(hardened: Hardened, viaChain: boolean) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'policy-test', version: '1.0.0' });
  if (viaChain) await hardened.connect(serverSide);
  else await hardened.server.connect(serverSide);
  await client.connect(clientSide);
  return client;
}

/** Pools that are never connected: listing tools never reaches the database. */
const unconnectedDatabase = () =>
  createDatabase({
    readerUrl: 'postgres://reader:unused@127.0.0.1:1/none',
    writerUrl: 'postgres://writer:unused@127.0.0.1:1/none',
  });

describe('the policy file and the tool-surface lock of postgres-tools', () => {
  it('passes `mcp-harden validate policy.yaml` (exit 0)', async () => {
    let out = '';
    let err = '';
    const code = await runCli(['validate', 'policy.yaml'], {
      cwd: root,
      env: {},
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
    });
    expect(err).toBe('');
    expect(out).toContain('policy.yaml: valid (postgres-tools 0.0.0');
    expect(code).toBe(0);
  });

  it('is the file next to package.json, with a scope and tenant rule for every tool', () => {
    expect(POLICY_FILE).toBe(join(root, 'policy.yaml'));
    expect(rbacOptionsOf(loadOrdersPolicy().effective).tools).toEqual({
      orders_search: { scopes: ['orders:read'], tenant: { whenMissing: 'allow' } },
      orders_get: { scopes: ['orders:read'], tenant: { whenMissing: 'allow' } },
      orders_create: { scopes: ['orders:write'], tenant: { whenMissing: 'allow' } },
      orders_set_status: { scopes: ['orders:write'], tenant: { whenMissing: 'allow' } },
    });
  });

  it('names exactly the registered tools, with their published descriptions', async () => {
    const hardened = createServer();
    const client = await connect(hardened, false);
    const { tools } = await client.listTools();
    await client.close();
    const file = loadOrdersPolicy().effective.tools ?? {};
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(file).sort());
    for (const tool of tools) expect(file[tool.name]?.description, tool.name).toBe(tool.description);
  });

  it('matches the committed mcp-tools.lock.json, every tool recorded with its rule', async () => {
    const hardened = createServer();
    const client = await connect(hardened, false);
    const surface = await listSurface(client);
    await client.close();
    const live = captureSurface({
      ...surface,
      authorizedTools: (name) => hardened.policies.lookup('tool', name)?.rule !== undefined,
    });
    const lock = readLock(readFileSync(join(root, 'mcp-tools.lock.json'), 'utf8'));
    const diff = diffSurface(lock, live);
    expect(diff.changes).toEqual([]);
    expect(diff.ok).toBe(true);
    expect(Object.keys(lock.tools).sort()).toEqual([
      'orders_create',
      'orders_get',
      'orders_search',
      'orders_set_status',
    ]);
    expect(Object.values(lock.tools).every((t) => t.authorized === true)).toBe(true);
  });

  it('authorizes from the file: a changed policy changes what a reader may use', async () => {
    const reader = defineMiddleware('test-principal', async (ctx, next) => {
      ctx.principal = DEV_PRINCIPALS['acme-reader'];
      return next();
    });
    const listed = async (policy: ReturnType<typeof loadOrdersPolicy>) => {
      const db = unconnectedDatabase();
      const hardened = createOrdersServer({ db, authenticate: [reader], policy });
      const client = await connect(hardened, true);
      try {
        return (await client.listTools()).tools.map((t) => t.name).sort();
      } finally {
        await client.close();
        await db.close();
      }
    };
    expect(await listed(loadOrdersPolicy())).toEqual(['orders_get', 'orders_search']);
    const text = readFileSync(POLICY_FILE, 'utf8').replace(/(orders_get:\n(?:.*\n)*?\s+rule: ).*/, '$1deny');
    expect(text).toMatch(/orders_get:\n(?:.*\n)*?\s+rule: deny/);
    expect(await listed(parsePolicy(text, { filename: 'edited.yaml' }))).toEqual(['orders_search']);
  });

  it('refuses to build without authentication in code or in the file', () => {
    const db = unconnectedDatabase();
    expect(() => createOrdersServer({ db })).toThrow(
      /pass authenticate, or configure authentication in the policy file/,
    );
    expect(() => createOrdersServer({ db, authenticate: [] })).toThrow(TypeError);
    return db.close();
  });
});
