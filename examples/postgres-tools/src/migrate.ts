import pg from 'pg';

/**
 * Login role used by the read tools: `SELECT` only, no `BYPASSRLS`.
 *
 * @example
 * ```ts
 * new URL(readerUrl).username === READER_ROLE; // true
 * ```
 */
export const READER_ROLE = 'mcp_orders_reader';
/**
 * Login role used by the write tools: `SELECT`, `INSERT` and `UPDATE (status)` only, no `BYPASSRLS`.
 *
 * @example
 * ```ts
 * new URL(writerUrl).username === WRITER_ROLE; // true
 * ```
 */
export const WRITER_ROLE = 'mcp_orders_writer';

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Password given to {@link READER_ROLE}; at least 16 characters. */
  readerPassword: string;
  /** Password given to {@link WRITER_ROLE}; at least 16 characters. */
  writerPassword: string;
}

/** Connection strings for the two application roles, derived from the admin URL. */
export interface RoleUrls {
  readerUrl: string;
  writerUrl: string;
}

// Every statement below is a fixed string. Values (passwords) travel as bind parameters and are
// quoted by the server (`format('%L')`), never spliced into SQL on the client.
const STATEMENTS: readonly string[] = [
  `DO $$ BEGIN
     IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mcp_orders_reader') THEN
       CREATE ROLE mcp_orders_reader LOGIN;
     END IF;
     IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mcp_orders_writer') THEN
       CREATE ROLE mcp_orders_writer LOGIN;
     END IF;
   END $$`,
  // Re-assert the safe attributes on every run, in case someone widened them by hand.
  'ALTER ROLE mcp_orders_reader NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION NOINHERIT',
  'ALTER ROLE mcp_orders_writer NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION NOINHERIT',
  `DO $$ BEGIN
     EXECUTE format('ALTER ROLE mcp_orders_reader PASSWORD %L', current_setting('mcp.reader_password'));
     EXECUTE format('ALTER ROLE mcp_orders_writer PASSWORD %L', current_setting('mcp.writer_password'));
   END $$`,
  'CREATE SCHEMA IF NOT EXISTS orders_app',
  'REVOKE ALL ON SCHEMA orders_app FROM PUBLIC',
  `CREATE TABLE IF NOT EXISTS orders_app.orders (
     id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     tenant      text NOT NULL CHECK (tenant <> ''),
     customer    text NOT NULL CHECK (length(customer) BETWEEN 1 AND 100),
     status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
     total_cents integer NOT NULL CHECK (total_cents >= 0),
     created_at  timestamptz NOT NULL DEFAULT now()
   )`,
  'CREATE INDEX IF NOT EXISTS orders_tenant_customer ON orders_app.orders (tenant, customer)',
  'REVOKE ALL ON ALL TABLES IN SCHEMA orders_app FROM PUBLIC',
  'ALTER TABLE orders_app.orders ENABLE ROW LEVEL SECURITY',
  // FORCE: the policy applies to the table owner too; only superusers and BYPASSRLS roles skip it.
  'ALTER TABLE orders_app.orders FORCE ROW LEVEL SECURITY',
  'DROP POLICY IF EXISTS orders_tenant_isolation ON orders_app.orders',
  // current_setting() without missing_ok raises when no tenant was set: fail closed, loudly.
  `CREATE POLICY orders_tenant_isolation ON orders_app.orders
     USING (tenant = current_setting('app.tenant'))
     WITH CHECK (tenant = current_setting('app.tenant'))`,
  'GRANT USAGE ON SCHEMA orders_app TO mcp_orders_reader, mcp_orders_writer',
  'REVOKE ALL ON orders_app.orders FROM mcp_orders_reader, mcp_orders_writer',
  'GRANT SELECT ON orders_app.orders TO mcp_orders_reader',
  'GRANT SELECT, INSERT ON orders_app.orders TO mcp_orders_writer',
  // Writers may change the status of an order, nothing else (not its tenant, customer or total).
  'GRANT UPDATE (status) ON orders_app.orders TO mcp_orders_writer',
];

function checkPassword(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length < 16) {
    throw new TypeError(`migrate: ${name} must be a string of at least 16 characters`);
  }
  return value;
}

/**
 * Creates (or brings up to date) the two application roles, the `orders_app` schema, the
 * `orders` table with its tenant row-level-security policy, and the grants. Idempotent; runs in
 * one transaction as the admin user of `adminUrl` (a superuser or the database owner with
 * `CREATEROLE`).
 *
 * @example
 * ```ts
 * const { readerUrl, writerUrl } = await migrate(process.env.DATABASE_ADMIN_URL!, {
 *   readerPassword: process.env.PG_READER_PASSWORD!,
 *   writerPassword: process.env.PG_WRITER_PASSWORD!,
 * });
 * ```
 */
export async function migrate(adminUrl: string, options: MigrateOptions): Promise<RoleUrls> {
  if (typeof adminUrl !== 'string' || adminUrl === '') throw new TypeError('migrate: adminUrl is required');
  const readerPassword = checkPassword('readerPassword', options?.readerPassword);
  const writerPassword = checkPassword('writerPassword', options?.writerPassword);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('mcp.reader_password', $1, true)", [readerPassword]);
    await client.query("SELECT set_config('mcp.writer_password', $1, true)", [writerPassword]);
    for (const statement of STATEMENTS) await client.query(statement);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
  return roleUrls(adminUrl, options);
}

/**
 * Derives the reader and writer connection strings from the admin URL (same host, port and
 * database, other credentials).
 *
 * @example
 * ```ts
 * const { readerUrl } = roleUrls('postgres://admin@db:5432/shop', { readerPassword, writerPassword });
 * ```
 */
export function roleUrls(adminUrl: string, options: MigrateOptions): RoleUrls {
  const as = (user: string, password: string) => {
    const url = new URL(adminUrl);
    url.username = user;
    url.password = password;
    return url.toString();
  };
  return {
    readerUrl: as(READER_ROLE, options.readerPassword),
    writerUrl: as(WRITER_ROLE, options.writerPassword),
  };
}
