import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Order } from '../src/index.js';
import { body, type Env, startEnv } from './setup.js';

let env: Env;
let acmeWriter: Client;
let acmeReader: Client;
let globexWriter: Client;
let globexReader: Client;
let acmeOrder: Order;
let globexOrder: Order;

async function create(client: Client, args: Record<string, unknown>): Promise<Order> {
  const result = await client.callTool({ name: 'orders_create', arguments: args });
  expect(result.isError).toBeFalsy();
  return body<{ order: Order }>(result).order;
}

async function search(client: Client, args: Record<string, unknown> = {}): Promise<Order[]> {
  const result = await client.callTool({ name: 'orders_search', arguments: args });
  expect(result.isError).toBeFalsy();
  return body<{ orders: Order[] }>(result).orders;
}

/** A refusal with the tool name masked, so an rbac refusal can be compared with an unknown tool's. */
async function refusalOf(
  promise: Promise<unknown>,
  tool: string,
): Promise<{ code: number; message: string; data: unknown }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  const { code, message, data } = err as McpError;
  expect(message).toContain(`Tool ${tool} not found`);
  return { code, message: message.replace(tool, '<tool>'), data };
}

beforeAll(async () => {
  env = await startEnv();
  [acmeWriter, acmeReader, globexWriter, globexReader] = await Promise.all([
    env.connect('acme-writer'),
    env.connect('acme-reader'),
    env.connect('globex-writer'),
    env.connect('globex-reader'),
  ]);
  acmeOrder = await create(acmeWriter, { customer: 'Ada Lovelace', totalCents: 1200 });
  globexOrder = await create(globexWriter, { customer: 'Grace Hopper', totalCents: 3400, status: 'paid' });
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

describe('tools over Streamable HTTP with the official SDK client', () => {
  it('creates an order in the caller’s tenant, taken from the principal', async () => {
    expect(acmeOrder).toMatchObject({
      tenant: 'acme',
      customer: 'Ada Lovelace',
      status: 'pending',
      totalCents: 1200,
    });
    expect(globexOrder).toMatchObject({ tenant: 'globex', customer: 'Grace Hopper', status: 'paid' });
    const got = await acmeReader.callTool({ name: 'orders_get', arguments: { id: acmeOrder.id } });
    expect(body<{ order: Order }>(got).order).toEqual(acmeOrder);
  });

  it('lists only the tools the principal may use', async () => {
    const reader = (await acmeReader.listTools()).tools.map((t) => t.name).sort();
    const writer = (await acmeWriter.listTools()).tools.map((t) => t.name).sort();
    const guest = (await env.connect('acme-guest')).listTools();
    expect(reader).toEqual(['orders_get', 'orders_search']);
    expect(writer).toEqual(['orders_create', 'orders_get', 'orders_search', 'orders_set_status']);
    expect((await guest).tools).toEqual([]);
  });
});

describe('tenant isolation', () => {
  it('never returns another tenant’s rows from a search', async () => {
    const acme = await search(acmeReader, { limit: 100 });
    const globex = await search(globexReader, { limit: 100 });
    expect(acme.length).toBeGreaterThan(0);
    expect(globex.length).toBeGreaterThan(0);
    expect(acme.every((o) => o.tenant === 'acme')).toBe(true);
    expect(globex.every((o) => o.tenant === 'globex')).toBe(true);
    expect(globex.map((o) => o.id)).not.toContain(acmeOrder.id);
  });

  it('answers a crafted id of another tenant exactly like an id that does not exist', async () => {
    const crafted = await globexReader.callTool({ name: 'orders_get', arguments: { id: acmeOrder.id } });
    const missing = await globexReader.callTool({ name: 'orders_get', arguments: { id: 987_654_321 } });
    expect(crafted.isError).toBe(true);
    expect(crafted.content).toEqual([{ type: 'text', text: `Order ${acmeOrder.id} not found` }]);
    expect(missing.content).toEqual([{ type: 'text', text: 'Order 987654321 not found' }]);
  });

  it('does not let a writer change another tenant’s row through a crafted id', async () => {
    const result = await globexWriter.callTool({
      name: 'orders_set_status',
      arguments: { id: acmeOrder.id, status: 'cancelled' },
    });
    expect(result.isError).toBe(true);
    const { rows } = await env.admin.query('SELECT status FROM orders_app.orders WHERE id = $1', [
      acmeOrder.id,
    ]);
    expect(rows).toEqual([{ status: 'pending' }]);
    // The same call in the owner's tenant works, so the refusal above is the tenant's doing.
    const own = await acmeWriter.callTool({
      name: 'orders_set_status',
      arguments: { id: acmeOrder.id, status: 'shipped' },
    });
    expect(body<{ order: Order }>(own).order.status).toBe('shipped');
  });

  it('refuses a tenant argument naming another tenant', async () => {
    const crafted = await refusalOf(
      globexWriter.callTool({
        name: 'orders_create',
        arguments: { customer: 'Mallory', totalCents: 1, tenant: 'acme' },
      }),
      'orders_create',
    );
    const unknown = await refusalOf(
      globexWriter.callTool({ name: 'no_such_tool', arguments: {} }),
      'no_such_tool',
    );
    expect(crafted).toEqual(unknown);
    const { rows } = await env.admin.query(
      'SELECT count(*)::int AS n FROM orders_app.orders WHERE customer = $1',
      ['Mallory'],
    );
    expect(rows[0].n).toBe(0);
  });

  it('keeps tenants apart when their calls interleave', async () => {
    const calls = Array.from({ length: 24 }, (_, i) =>
      i % 2 === 0
        ? search(acmeReader, { limit: 100 }).then((orders) => ({ want: 'acme', orders }))
        : search(globexReader, { limit: 100 }).then((orders) => ({ want: 'globex', orders })),
    );
    for (const { want, orders } of await Promise.all(calls)) {
      expect(orders.length).toBeGreaterThan(0);
      expect(orders.every((o) => o.tenant === want)).toBe(true);
    }
  });
});

describe('input is data, never SQL', () => {
  it('stores and returns SQL-looking text verbatim, and the table survives', async () => {
    const customer = "Robert'); DROP TABLE orders_app.orders;--";
    const order = await create(acmeWriter, { customer, totalCents: 5 });
    expect(order.customer).toBe(customer);
    const found = await search(acmeWriter, { customer: "Robert'); DROP", limit: 10 });
    expect(found.map((o) => o.id)).toEqual([order.id]);
    const { rows } = await env.admin.query("SELECT to_regclass('orders_app.orders') IS NOT NULL AS exists");
    expect(rows).toEqual([{ exists: true }]);
  });

  it('matches a tautology-looking search term literally', async () => {
    expect(await search(acmeReader, { customer: "' OR '1'='1", limit: 100 })).toEqual([]);
    expect(await search(acmeReader, { customer: 'x" OR 1=1 --', limit: 100 })).toEqual([]);
  });

  it('treats LIKE wildcards in a search term as characters', async () => {
    const special = await create(acmeWriter, { customer: '%_special\\', totalCents: 7 });
    expect((await search(acmeReader, { customer: '%', limit: 100 })).map((o) => o.id)).toEqual([special.id]);
    expect((await search(acmeReader, { customer: '%_special\\', limit: 100 })).map((o) => o.id)).toEqual([
      special.id,
    ]);
    expect(await search(acmeReader, { customer: '_', limit: 100 })).toEqual([]);
  });

  it('rejects ids and limits outside their schema before any query runs', async () => {
    const bad = [
      { name: 'orders_get', arguments: { id: '1 OR 1=1' } },
      { name: 'orders_get', arguments: { id: -1 } },
      { name: 'orders_get', arguments: { id: 1.5 } },
      { name: 'orders_search', arguments: { limit: 101 } },
      { name: 'orders_search', arguments: { limit: 0 } },
      { name: 'orders_search', arguments: { customer: 'x'.repeat(101) } },
      { name: 'orders_create', arguments: { customer: 'Eve', totalCents: -5 } },
      { name: 'orders_set_status', arguments: { id: acmeOrder.id, status: "shipped'; --" } },
    ];
    for (const call of bad) {
      const outcome = await acmeWriter.callTool(call).then(
        (r) => ({ isError: r.isError === true, text: JSON.stringify(r.content) }),
        (e: unknown) => ({ isError: e instanceof McpError, text: String(e) }),
      );
      expect(outcome.isError, JSON.stringify(call)).toBe(true);
      expect(outcome.text).toMatch(/invalid|validation/i);
    }
  });
});

describe('authorization', () => {
  it('refuses a write tool to a reader exactly like an unknown tool', async () => {
    const refused = await refusalOf(
      acmeReader.callTool({ name: 'orders_create', arguments: { customer: 'x', totalCents: 1 } }),
      'orders_create',
    );
    const unknown = await refusalOf(acmeReader.callTool({ name: 'nope', arguments: {} }), 'nope');
    expect(refused).toEqual(unknown);
  });

  it('refuses every tool to a principal without the scope', async () => {
    const guest = await env.connect('acme-guest');
    await refusalOf(guest.callTool({ name: 'orders_search', arguments: {} }), 'orders_search');
  });

  it('refuses a principal that has scopes but no tenant', async () => {
    const nomad = await env.connect('no-tenant-writer');
    await refusalOf(nomad.callTool({ name: 'orders_search', arguments: {} }), 'orders_search');
    expect((await nomad.listTools()).tools).toEqual([]);
  });

  it('answers 401 with ERR_UNAUTHENTICATED when no known development principal is named', async () => {
    const cases: Array<Record<string, string>> = [
      {},
      { 'x-dev-principal': 'root' },
      { 'x-dev-principal': '__proto__' },
    ];
    for (const headers of cases) {
      const res = await fetch(env.served.url, {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'orders_search' },
        }),
      });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      const payload = (await res.json()) as { error: { code: number; data?: { code?: string } } };
      expect(payload.error.code).toBe(-32010);
      expect(JSON.stringify(payload)).not.toContain('stack');
    }
  });
});

describe('service', () => {
  it('reports both pools in /ready', async () => {
    const res = await fetch(new URL('/ready', env.served.url));
    expect(res.status).toBe(200);
    const report = (await res.json()) as { status: string; checks: Array<{ name: string; status: string }> };
    expect(report.status).toBe('ready');
    expect(report.checks.map((c) => [c.name, c.status])).toEqual(
      expect.arrayContaining([
        ['postgres-reader', 'pass'],
        ['postgres-writer', 'pass'],
      ]),
    );
  });
});

// Last: it stops the database for a moment.
describe('database outage', () => {
  it('answers a generic tool error and a not-ready probe, and recovers', async () => {
    await env.pg.pause();
    try {
      const result = await acmeReader.callTool({ name: 'orders_search', arguments: {} });
      expect(result.isError).toBe(true);
      expect(result.content).toEqual([{ type: 'text', text: 'Orders are unavailable right now' }]);
      expect(env.toolErrors.map((e) => e.tool)).toContain('orders_search');
      const ready = await fetch(new URL('/ready', env.served.url));
      expect(ready.status).toBe(503);
    } finally {
      await env.pg.resume();
    }
    // Pools reconnect: bounded retries, no sleeps between them beyond the driver's own connect.
    let recovered = false;
    for (let attempt = 0; attempt < 5 && !recovered; attempt++) {
      const result = await acmeReader.callTool({ name: 'orders_search', arguments: {} });
      recovered = result.isError !== true;
    }
    expect(recovered).toBe(true);
  });
});
