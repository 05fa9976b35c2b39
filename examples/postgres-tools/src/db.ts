import pg from 'pg';

/** Options of {@link createDatabase}. */
export interface DatabaseOptions {
  /** Connection string of the read-only role (see `migrate`). */
  readerUrl: string;
  /** Connection string of the write role. */
  writerUrl: string;
  /** Connections per pool; defaults to 5. */
  maxConnections?: number;
  /** Server-side limit of one statement; defaults to 5,000 ms. */
  statementTimeoutMs?: number;
}

/** Which pool a unit of work runs on. */
export type Access = 'read' | 'write';

/** A query runner bound to one transaction of one tenant. */
export interface TenantTx {
  query<R extends pg.QueryResultRow>(text: string, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
}

/** The two pools and the tenant-scoped transaction helper. */
export interface Database {
  /** Pool of the read-only role. */
  readonly reader: pg.Pool;
  /** Pool of the write role. */
  readonly writer: pg.Pool;
  /**
   * Runs `work` in one transaction on the pool for `access`, with `app.tenant` set to `tenant`
   * for that transaction only (`set_config(..., true)`), so the row-level-security policy sees
   * only this tenant's rows. Read transactions are also `READ ONLY`.
   */
  withTenant<T>(access: Access, tenant: string, work: (tx: TenantTx) => Promise<T>): Promise<T>;
  /** Ends both pools. */
  close(): Promise<void>;
}

/**
 * Opens one pool per role. Tools never get a raw client: they run inside
 * {@link Database.withTenant}, which always sets the tenant first.
 *
 * @example
 * ```ts
 * const db = createDatabase({ readerUrl, writerUrl });
 * const rows = await db.withTenant('read', 'acme', (tx) =>
 *   tx.query('SELECT id FROM orders_app.orders WHERE id = $1', [42]),
 * );
 * ```
 */
export function createDatabase(options: DatabaseOptions): Database {
  if (!options || typeof options.readerUrl !== 'string' || typeof options.writerUrl !== 'string') {
    throw new TypeError('createDatabase: readerUrl and writerUrl are required');
  }
  if (options.readerUrl === options.writerUrl) {
    throw new TypeError('createDatabase: the read and write pools must use different credentials');
  }
  const max = options.maxConnections ?? 5;
  const statementTimeout = options.statementTimeoutMs ?? 5_000;
  if (!Number.isInteger(max) || max < 1) throw new TypeError('createDatabase: maxConnections must be >= 1');
  if (!Number.isInteger(statementTimeout) || statementTimeout < 1) {
    throw new TypeError('createDatabase: statementTimeoutMs must be a positive integer');
  }
  const pool = (connectionString: string) => {
    const p = new pg.Pool({ connectionString, max, statement_timeout: statementTimeout });
    // An idle client that loses its connection must not crash the process.
    p.on('error', () => {});
    return p;
  };
  const reader = pool(options.readerUrl);
  const writer = pool(options.writerUrl);

  return {
    reader,
    writer,
    async withTenant(access, tenant, work) {
      if (typeof tenant !== 'string' || tenant === '') throw new TypeError('withTenant: tenant is required');
      const client = await (access === 'write' ? writer : reader).connect();
      let broken = false;
      try {
        await client.query(access === 'write' ? 'BEGIN' : 'BEGIN READ ONLY');
        await client.query("SELECT set_config('app.tenant', $1, true)", [tenant]);
        const result = await work({
          query: (text, values) => client.query(text, values as unknown[] | undefined),
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async close() {
      await Promise.all([reader.end(), writer.end()]);
    },
  };
}
