import { randomBytes } from 'node:crypto';
import { type PostgresService, startPostgres } from '@mcp-harden/test-services';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database, migrate, READER_ROLE, WRITER_ROLE } from '../src/index.js';

let service: PostgresService;
let admin: pg.Pool;
let db: Database;
let urls: { readerUrl: string; writerUrl: string };
const passwords = {
  readerPassword: randomBytes(18).toString('base64url'),
  writerPassword: randomBytes(18).toString('base64url'),
};

/** The SQLSTATE a promise rejects with. */
async function sqlState(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (err: unknown) => (err as { code?: string }).code,
  );
}

beforeAll(async () => {
  service = await startPostgres();
  urls = await migrate(service.url, passwords);
  // A second run must be a no-op that leaves the same state.
  await migrate(service.url, passwords);
  admin = new pg.Pool({ connectionString: service.url, max: 2 });
  db = createDatabase({ ...urls, maxConnections: 2 });
  // Seed as the admin (a superuser bypasses RLS): two rows per tenant.
  await admin.query(
    `INSERT INTO orders_app.orders (tenant, customer, total_cents)
     VALUES ('acme', 'a1', 1), ('acme', 'a2', 2), ('globex', 'g1', 3), ('globex', 'g2', 4)`,
  );
}, 60_000);

afterAll(async () => {
  await db?.close();
  await admin?.end();
  await service?.stop();
});

describe('migrate()', () => {
  it('creates login roles that are neither superusers nor exempt from row-level security', async () => {
    const { rows } = await admin.query(
      `SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin
       FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
      [[READER_ROLE, WRITER_ROLE]],
    );
    expect(rows).toEqual(
      [READER_ROLE, WRITER_ROLE].map((rolname) => ({
        rolname,
        rolsuper: false,
        rolbypassrls: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolcanlogin: true,
      })),
    );
  });

  it('enables and forces row-level security on the orders table', async () => {
    const { rows } = await admin.query(
      `SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'orders_app.orders'::regclass`,
    );
    expect(rows).toEqual([{ relrowsecurity: true, relforcerowsecurity: true }]);
  });

  it('grants the reader SELECT only and the writer SELECT, INSERT and UPDATE of status only', async () => {
    const privileges = async (role: string) => {
      const { rows } = await admin.query(
        `SELECT p.privilege FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) AS p(privilege)
         WHERE has_table_privilege($1, 'orders_app.orders', p.privilege) ORDER BY 1`,
        [role],
      );
      return rows.map((r: { privilege: string }) => r.privilege);
    };
    expect(await privileges(READER_ROLE)).toEqual(['SELECT']);
    expect(await privileges(WRITER_ROLE)).toEqual(['INSERT', 'SELECT']);
    const column = async (col: string) =>
      (
        await admin.query("SELECT has_column_privilege($1, 'orders_app.orders', $2, 'UPDATE') AS ok", [
          WRITER_ROLE,
          col,
        ])
      ).rows[0].ok;
    expect(await column('status')).toBe(true);
    expect(await column('tenant')).toBe(false);
  });

  it('refuses weak passwords and a missing admin URL with TypeError', async () => {
    await expect(
      migrate(service.url, { readerPassword: 'short', writerPassword: passwords.writerPassword }),
    ).rejects.toThrow(TypeError);
    await expect(migrate('', passwords)).rejects.toThrow(TypeError);
  });
});

describe('database roles', () => {
  it('denies INSERT, UPDATE and DELETE to the read role, even with the tenant set', async () => {
    const insert = 'INSERT INTO orders_app.orders (tenant, customer, total_cents) VALUES ($1, $2, $3)';
    // The plain pool, outside any helper: the grant alone refuses it.
    expect(await sqlState(db.reader.query(insert, ['acme', 'x', 1]))).toBe('42501');
    // A read-write transaction on the read pool with the tenant set: still only the grant decides.
    const asReader = async (text: string, values: unknown[] = []) => {
      const client = await db.reader.connect();
      try {
        await client.query('BEGIN');
        await client.query("SELECT set_config('app.tenant', $1, true)", ['acme']);
        return await sqlState(client.query(text, values));
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    };
    expect(await asReader(insert, ['acme', 'x', 1])).toBe('42501');
    expect(await asReader("UPDATE orders_app.orders SET status = 'paid'")).toBe('42501');
    expect(await asReader('DELETE FROM orders_app.orders')).toBe('42501');
    // Through the helper the READ ONLY transaction refuses it even earlier (25006).
    expect(await sqlState(db.withTenant('read', 'acme', (tx) => tx.query(insert, ['acme', 'x', 1])))).toBe(
      '25006',
    );
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM orders_app.orders');
    expect(rows[0].n).toBe(4);
  });

  it('denies the write role DELETE and changing the tenant of a row', async () => {
    expect(
      await sqlState(db.withTenant('write', 'acme', (tx) => tx.query('DELETE FROM orders_app.orders'))),
    ).toBe('42501');
    expect(
      await sqlState(
        db.withTenant('write', 'acme', (tx) => tx.query("UPDATE orders_app.orders SET tenant = 'globex'")),
      ),
    ).toBe('42501');
  });

  it('uses different credentials for the two pools', () => {
    expect(new URL(urls.readerUrl).username).toBe(READER_ROLE);
    expect(new URL(urls.writerUrl).username).toBe(WRITER_ROLE);
    expect(() => createDatabase({ readerUrl: urls.readerUrl, writerUrl: urls.readerUrl })).toThrow(TypeError);
  });
});

describe('row-level security', () => {
  it('shows a transaction only the rows of its tenant, without any WHERE clause', async () => {
    const all = 'SELECT tenant, customer FROM orders_app.orders ORDER BY customer';
    const acme = await db.withTenant('read', 'acme', (tx) => tx.query(all));
    const globex = await db.withTenant('read', 'globex', (tx) => tx.query(all));
    expect(acme.rows).toEqual([
      { tenant: 'acme', customer: 'a1' },
      { tenant: 'acme', customer: 'a2' },
    ]);
    expect(globex.rows.map((r) => r.customer)).toEqual(['g1', 'g2']);
  });

  it('fails closed on a connection where no tenant was ever set', async () => {
    const client = new pg.Client({ connectionString: urls.readerUrl });
    await client.connect();
    try {
      // current_setting('app.tenant') raises: unrecognized configuration parameter.
      expect(await sqlState(client.query('SELECT count(*) FROM orders_app.orders'))).toBe('42704');
    } finally {
      await client.end();
    }
  });

  it('forgets the tenant when the transaction ends, so a pooled connection cannot carry it over', async () => {
    const client = new pg.Client({ connectionString: urls.readerUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('app.tenant', $1, true)", ['acme']);
      expect((await client.query('SELECT count(*)::int AS n FROM orders_app.orders')).rows[0].n).toBe(2);
      await client.query('COMMIT');
      expect((await client.query('SELECT count(*)::int AS n FROM orders_app.orders')).rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('refuses to insert a row for another tenant', async () => {
    const insert = 'INSERT INTO orders_app.orders (tenant, customer, total_cents) VALUES ($1, $2, $3)';
    expect(
      await sqlState(db.withTenant('write', 'acme', (tx) => tx.query(insert, ['globex', 'mallory', 1]))),
    ).toBe('42501');
    const { rows } = await admin.query(
      'SELECT count(*)::int AS n FROM orders_app.orders WHERE customer = $1',
      ['mallory'],
    );
    expect(rows[0].n).toBe(0);
  });

  it('does not update or see rows of another tenant by id', async () => {
    const { rows } = await admin.query(
      "SELECT id FROM orders_app.orders WHERE tenant = 'globex' ORDER BY id LIMIT 1",
    );
    const id = rows[0].id as string;
    const updated = await db.withTenant('write', 'acme', (tx) =>
      tx.query("UPDATE orders_app.orders SET status = 'cancelled' WHERE id = $1", [id]),
    );
    expect(updated.rowCount).toBe(0);
    const seen = await db.withTenant('read', 'acme', (tx) =>
      tx.query('SELECT id FROM orders_app.orders WHERE id = $1', [id]),
    );
    expect(seen.rows).toEqual([]);
  });
});
