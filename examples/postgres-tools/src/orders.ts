import type { TenantTx } from './db.js';

/**
 * Order statuses, as the table's CHECK constraint allows them.
 *
 * @example
 * ```ts
 * const status = z.enum(ORDER_STATUSES);
 * ```
 */
export const ORDER_STATUSES = ['pending', 'paid', 'shipped', 'cancelled'] as const;
/** One of {@link ORDER_STATUSES}. */
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** An order as tools return it. */
export interface Order {
  id: number;
  tenant: string;
  customer: string;
  status: OrderStatus;
  totalCents: number;
  createdAt: string;
}

interface OrderRow {
  id: string;
  tenant: string;
  customer: string;
  status: OrderStatus;
  total_cents: number;
  created_at: Date;
}

function toOrder(row: OrderRow): Order {
  return {
    id: Number(row.id),
    tenant: row.tenant,
    customer: row.customer,
    status: row.status,
    totalCents: row.total_cents,
    createdAt: row.created_at.toISOString(),
  };
}

/** `%`, `_` and `\` in a search term are data, not LIKE wildcards. */
function likePrefix(term: string): string {
  return term.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

// No tenant filter in these statements: the row-level-security policy adds it, keyed on the
// transaction's `app.tenant`, so a forgotten WHERE clause cannot leak another tenant's rows.

/**
 * Orders of the transaction's tenant whose customer starts with `customer` and whose status is
 * `status` (each optional), newest id first, at most `limit`.
 *
 * @example
 * ```ts
 * await db.withTenant('read', 'acme', (tx) => searchOrders(tx, { customer: 'Ada', limit: 10 }));
 * ```
 */
export async function searchOrders(
  tx: TenantTx,
  filter: { customer?: string | undefined; status?: OrderStatus | undefined; limit: number },
): Promise<Order[]> {
  const { rows } = await tx.query<OrderRow>(
    `SELECT id, tenant, customer, status, total_cents, created_at
       FROM orders_app.orders
        WHERE ($1::text IS NULL OR customer LIKE $1 ESCAPE '\\')
          AND ($2::text IS NULL OR status = $2)
        ORDER BY id DESC
        LIMIT $3`,
    [filter.customer === undefined ? null : likePrefix(filter.customer), filter.status ?? null, filter.limit],
  );
  return rows.map(toOrder);
}

/**
 * One order of the transaction's tenant, or `undefined` (also when it belongs to another tenant).
 *
 * @example
 * ```ts
 * await db.withTenant('read', 'acme', (tx) => getOrder(tx, 42));
 * ```
 */
export async function getOrder(tx: TenantTx, id: number): Promise<Order | undefined> {
  const { rows } = await tx.query<OrderRow>(
    'SELECT id, tenant, customer, status, total_cents, created_at FROM orders_app.orders WHERE id = $1',
    [id],
  );
  return rows[0] === undefined ? undefined : toOrder(rows[0]);
}

/**
 * Inserts an order for the transaction's tenant (taken from `app.tenant`, never from input).
 *
 * @example
 * ```ts
 * await db.withTenant('write', 'acme', (tx) => createOrder(tx, { customer: 'Ada', totalCents: 1200 }));
 * ```
 */
export async function createOrder(
  tx: TenantTx,
  order: { customer: string; totalCents: number; status?: OrderStatus | undefined },
): Promise<Order> {
  const { rows } = await tx.query<OrderRow>(
    `INSERT INTO orders_app.orders (tenant, customer, status, total_cents)
     VALUES (current_setting('app.tenant'), $1, $2, $3)
     RETURNING id, tenant, customer, status, total_cents, created_at`,
    [order.customer, order.status ?? 'pending', order.totalCents],
  );
  return toOrder(rows[0]!);
}

/**
 * Changes the status of one order of the transaction's tenant; `undefined` when there is no such
 * order in this tenant.
 *
 * @example
 * ```ts
 * await db.withTenant('write', 'acme', (tx) => setOrderStatus(tx, 42, 'shipped'));
 * ```
 */
export async function setOrderStatus(
  tx: TenantTx,
  id: number,
  status: OrderStatus,
): Promise<Order | undefined> {
  const { rows } = await tx.query<OrderRow>(
    `UPDATE orders_app.orders SET status = $2 WHERE id = $1
     RETURNING id, tenant, customer, status, total_cents, created_at`,
    [id, status],
  );
  return rows[0] === undefined ? undefined : toOrder(rows[0]);
}
