import { HardenError, type Middleware } from '@mcp-harden/core';
import { type ServedMcp, serve } from '@mcp-harden/http';
import { fromPolicy, type LoadedPolicy } from '@mcp-harden/policy';
import { type HardenedServer, harden } from '@mcp-harden/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Database } from './db.js';
import { createOrder, getOrder, ORDER_STATUSES, searchOrders, setOrderStatus } from './orders.js';
import { loadOrdersPolicy } from './policy.js';
import { bindPrincipal, currentPrincipal } from './principal.js';

/**
 * Largest page `orders_search` returns.
 *
 * @example
 * ```ts
 * z.number().int().min(1).max(MAX_SEARCH_LIMIT);
 * ```
 */
export const MAX_SEARCH_LIMIT = 100;

/** Options of {@link createOrdersServer}. */
export interface OrdersServerOptions {
  /** The two pools (see `createDatabase`). */
  db: Database;
  /**
   * Middleware that sets `ctx.principal` (e.g. `devPrincipal()`, or `bearerAuth` of
   * `@mcp-harden/auth`); replaces the policy file's `authentication` section. Required unless the
   * file has one.
   */
  authenticate?: readonly Middleware[];
  /** The policy the chain is built from; default `policy.yaml` of this example ({@link loadOrdersPolicy}). */
  policy?: LoadedPolicy;
  /** Middleware placed before authentication (audit, telemetry). */
  outer?: readonly Middleware[];
  /**
   * Receives database and other unexpected errors of tool handlers (the caller only gets
   * "Orders are unavailable right now"); defaults to one line on stderr with the error class and
   * SQLSTATE, never the query or its values.
   */
  onError?: (error: unknown, tool: string) => void;
}

const defaultOnError = (error: unknown, tool: string) => {
  const name = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;
  console.error(`[postgres-tools] ${tool} failed: ${name}${typeof code === 'string' ? ` (${code})` : ''}`);
};

const idSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const statusSchema = z.enum(ORDER_STATUSES);
const customerSchema = z.string().min(1).max(100);

function json(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

function notFound(id: number): CallToolResult {
  // Same answer for an order of another tenant and one that does not exist.
  return { isError: true, content: [{ type: 'text', text: `Order ${id} not found` }] };
}

/** Keeps driver errors (messages can name tables, roles, hosts) away from the caller. */
function guarded<A>(
  tool: string,
  onError: (error: unknown, tool: string) => void,
  handler: (args: A) => Promise<CallToolResult>,
): (args: A) => Promise<CallToolResult> {
  return async (args) => {
    try {
      return await handler(args);
    } catch (err) {
      if (err instanceof HardenError) throw err;
      onError(err, tool);
      return { isError: true, content: [{ type: 'text', text: 'Orders are unavailable right now' }] };
    }
  };
}

function tenantOfCaller(): string {
  const tenant = currentPrincipal().tenant;
  // rbac already refused principals without a tenant; this guards handlers reached another way.
  if (typeof tenant !== 'string' || tenant === '') throw new HardenError('ERR_FORBIDDEN');
  return tenant;
}

/**
 * Builds the orders tool server: `orders_search` and `orders_get` run on the read-only pool,
 * `orders_create` and `orders_set_status` on the write pool, each in a transaction scoped to the
 * caller's tenant. The chain comes from the policy file through `fromPolicy`:
 * `[...outer, audit?, telemetry?, ...authenticate, rbac, rateLimit?, sanitize?, bindPrincipal()]`
 * (the optional parts when the file configures them; the example's file configures rbac only).
 *
 * @example
 * ```ts
 * const hardened = createOrdersServer({ db, authenticate: [devPrincipal()] });
 * ```
 */
export function createOrdersServer(options: OrdersServerOptions): HardenedServer<McpServer> {
  if (!options?.db) throw new TypeError('createOrdersServer: db is required');
  if (
    options.authenticate !== undefined &&
    (!Array.isArray(options.authenticate) || options.authenticate.length === 0)
  ) {
    throw new TypeError('createOrdersServer: authenticate must list at least one middleware');
  }
  const policy = options.policy ?? loadOrdersPolicy();
  // Who may call what, and any limits or redaction, come from the file; code adds authentication
  // (a development principal cannot live in a file) and bindPrincipal() for the handlers.
  const { parts, policies } = fromPolicy(policy);
  const authenticate = options.authenticate ?? (parts.authentication ? [parts.authentication] : []);
  if (authenticate.length === 0) {
    throw new TypeError(
      'createOrdersServer: pass authenticate, or configure authentication in the policy file',
    );
  }
  const use = [
    ...(options.outer ?? []),
    parts.audit,
    parts.telemetry,
    ...authenticate,
    parts.authorization,
    parts.rateLimit,
    parts.sanitize,
    parts.versioning,
    bindPrincipal(),
  ].filter((m): m is Middleware => m !== undefined);
  const server = new McpServer({
    name: policy.effective.server.name,
    version: policy.effective.server.version,
  });
  // The file's per-tool policies (tags, limits, redaction) are declared here, by name.
  const hardened = harden(server, { use, policies });
  registerOrderTools(server, options.db, options.onError ?? defaultOnError);
  return hardened;
}

/**
 * Registers the four order tools on `server` with the plain SDK API: their rules, tags and limits
 * come from the policy file, declared through `harden(server, { policies })`.
 *
 * @example
 * ```ts
 * registerOrderTools(server, db, (error, tool) => console.error(tool, error));
 * ```
 */
export function registerOrderTools(
  server: McpServer,
  db: Pick<Database, 'withTenant'>,
  onError: (error: unknown, tool: string) => void = defaultOnError,
): void {
  server.registerTool(
    'orders_search',
    {
      description: 'Searches orders of your tenant by customer name prefix and status.',
      inputSchema: {
        customer: customerSchema.optional().describe('Customer name prefix (matched literally)'),
        status: statusSchema.optional(),
        limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT).default(20),
      },
      annotations: { readOnlyHint: true },
    },
    guarded('orders_search', onError, async ({ customer, status, limit }) => {
      const tenant = tenantOfCaller();
      const orders = await db.withTenant('read', tenant, (tx) =>
        searchOrders(tx, { customer, status, limit }),
      );
      return json({ orders });
    }),
  );

  server.registerTool(
    'orders_get',
    {
      description: 'Reads one order of your tenant by id.',
      inputSchema: { id: idSchema },
      annotations: { readOnlyHint: true },
    },
    guarded('orders_get', onError, async ({ id }) => {
      const tenant = tenantOfCaller();
      const order = await db.withTenant('read', tenant, (tx) => getOrder(tx, id));
      return order === undefined ? notFound(id) : json({ order });
    }),
  );

  server.registerTool(
    'orders_create',
    {
      description: 'Creates an order in your tenant.',
      inputSchema: {
        customer: customerSchema,
        totalCents: z.number().int().min(0).max(100_000_000),
        status: z.enum(['pending', 'paid']).optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    },
    guarded('orders_create', onError, async ({ customer, totalCents, status }) => {
      const tenant = tenantOfCaller();
      const order = await db.withTenant('write', tenant, (tx) =>
        createOrder(tx, { customer, totalCents, status }),
      );
      return json({ order });
    }),
  );

  server.registerTool(
    'orders_set_status',
    {
      description: 'Changes the status of one order of your tenant.',
      inputSchema: { id: idSchema, status: statusSchema },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    },
    guarded('orders_set_status', onError, async ({ id, status }) => {
      const tenant = tenantOfCaller();
      const order = await db.withTenant('write', tenant, (tx) => setOrderStatus(tx, id, status));
      return order === undefined ? notFound(id) : json({ order });
    }),
  );
}

/** Options of {@link startOrdersService}. */
export interface OrdersServiceOptions extends OrdersServerOptions {
  /** Bind address; defaults to `127.0.0.1`. */
  host?: string;
  /** Port; `0` (the default) picks a free one. */
  port?: number;
}

/**
 * Serves {@link createOrdersServer} over stateless Streamable HTTP with `@mcp-harden/http`
 * (`/mcp`, `/health`, and `/ready`, which also checks both pools).
 *
 * @example
 * ```ts
 * const served = await startOrdersService({ db, authenticate: [devPrincipal()], port: 3001 });
 * console.log(served.url.href);
 * ```
 */
export async function startOrdersService(options: OrdersServiceOptions): Promise<ServedMcp> {
  const hardened = createOrdersServer(options);
  const ping = (name: string, pool: Database['reader']) => ({
    name,
    async check() {
      await pool.query('SELECT 1');
    },
  });
  return serve({
    mode: 'stateless',
    createServer: () => hardened,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    healthChecks: [ping('postgres-reader', options.db.reader), ping('postgres-writer', options.db.writer)],
  });
}
