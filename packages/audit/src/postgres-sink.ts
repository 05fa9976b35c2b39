import type { AuditEvent, AuditSink } from './types.js';

/**
 * The part of a `pg` `Pool` the sink uses; a real `pg.Pool` fits.
 *
 * @example
 * ```ts
 * const pool: PgPoolLike = new pg.Pool({ connectionString });
 * ```
 */
export interface PgPoolLike {
  query(text: string, values?: unknown[]): Promise<{ rowCount: number | null; rows: unknown[] }>;
  end(): Promise<void>;
  on?(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * Options of {@link postgresSink}; give `pool` or `connectionString`.
 *
 * @example
 * ```ts
 * postgresSink({ pool, table: 'audit.mcp_events', maxRowsPerInsert: 1000 });
 * ```
 */
export interface PostgresSinkOptions {
  /** A pool you own (it is not ended on close). Attach your own `pool.on('error')` handler. */
  pool?: PgPoolLike;
  /** Creates a pool (needs the `pg` package); ended on close. */
  connectionString?: string;
  /** Table name, optionally schema-qualified. Default `mcp_audit_events`. */
  table?: string;
  /** Rows per INSERT statement. Default 500. */
  maxRowsPerInsert?: number;
  /** Sink name (spill file name). Default `postgres`. */
  name?: string;
}

/**
 * The PostgreSQL sink.
 *
 * @example
 * ```ts
 * const sink: PostgresSink = postgresSink({ connectionString });
 * await sink.migrate();
 * ```
 */
export interface PostgresSink extends AuditSink {
  /** Creates the table and its indexes when missing (idempotent). */
  migrate(): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const COLUMNS = [
  'id',
  'time',
  'method',
  'target',
  'subject',
  'tenant',
  'decision',
  'outcome',
  'code',
  'session_id',
  'request_id',
  'trace_id',
  'event',
] as const;

// NUL and lone surrogates come from client input (a tool name) and PostgreSQL rejects both in
// text and jsonb: left in, one such event would make its batch fail forever.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what must be replaced
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces what PostgreSQL cannot store with U+FFFD, everywhere in the event. */
function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(UNSTORABLE, '\uFFFD');
  if (Array.isArray(value)) return value.map(withoutNul);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[withoutNul(k) as string] = withoutNul(v);
    return out;
  }
  return value;
}

function rowOf(original: AuditEvent): unknown[] {
  const e = withoutNul(original) as AuditEvent;
  return [
    e.id,
    e.time,
    e.method,
    e.target,
    e.principal?.subject ?? null,
    e.principal?.tenant ?? null,
    e.decision.result,
    e.outcome.status,
    e.decision.code ?? e.outcome.code,
    e.sessionId,
    String(e.requestId),
    e.traceId,
    JSON.stringify(e),
  ];
}

/**
 * Writes events to a PostgreSQL table with batched multi-row inserts. The event id is the
 * primary key and inserts use `ON CONFLICT DO NOTHING`, so a retried batch never duplicates.
 * Call `migrate()` once (deploy step or start-up) to create the table.
 *
 * @example
 * ```ts
 * import { audit, postgresSink } from '@mcp-harden/audit';
 * const pg = postgresSink({ connectionString: process.env.AUDIT_DATABASE_URL });
 * await pg.migrate();
 * const trail = audit({ sinks: [pg], spillDir: '/var/lib/mcp/audit-spill' });
 * ```
 */
export function postgresSink(options: PostgresSinkOptions): PostgresSink {
  if (!options || (options.pool === undefined) === (options.connectionString === undefined)) {
    throw new TypeError('postgresSink: give exactly one of pool or connectionString');
  }
  if (options.pool !== undefined && typeof options.pool.query !== 'function') {
    throw new TypeError('postgresSink: pool must have query()');
  }
  if (
    options.connectionString !== undefined &&
    (typeof options.connectionString !== 'string' || !options.connectionString)
  ) {
    throw new TypeError('postgresSink: connectionString must be a non-empty string');
  }
  const tableName = options.table ?? 'mcp_audit_events';
  const parts = typeof tableName === 'string' ? tableName.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    throw new TypeError(
      'postgresSink: table must be an identifier or schema.identifier ([A-Za-z_][A-Za-z0-9_]*)',
    );
  }
  const table = parts.map((p) => `"${p}"`).join('.');
  const indexPrefix = parts[parts.length - 1]!;
  const maxRows = options.maxRowsPerInsert ?? 500;
  if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows * COLUMNS.length > 65_535) {
    throw new TypeError('postgresSink: maxRowsPerInsert must be an integer from 1 to 5041');
  }
  const ownsPool = options.pool === undefined;
  let pool: PgPoolLike | undefined = options.pool;
  let creating: Promise<PgPoolLike> | undefined;

  const getPool = async (): Promise<PgPoolLike> => {
    if (pool) return pool;
    creating ??= import('pg').then((mod) => {
      const pg = ((mod as { default?: unknown }).default ?? mod) as {
        Pool: new (config: object) => PgPoolLike;
      };
      const created = new pg.Pool({
        connectionString: options.connectionString,
        max: 4,
        connectionTimeoutMillis: 5_000,
      });
      // Idle connections die when the server restarts; the next query reconnects.
      created.on?.('error', () => {});
      pool = created;
      return created;
    });
    return creating;
  };

  return {
    name: options.name ?? 'postgres',
    async migrate() {
      const p = await getPool();
      await p.query(`CREATE TABLE IF NOT EXISTS ${table} (
        id uuid PRIMARY KEY,
        time timestamptz NOT NULL,
        method text NOT NULL,
        target text,
        subject text,
        tenant text,
        decision text NOT NULL,
        outcome text NOT NULL,
        code text,
        session_id text,
        request_id text NOT NULL,
        trace_id text,
        event jsonb NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);
      await p.query(`CREATE INDEX IF NOT EXISTS "${indexPrefix}_time_idx" ON ${table} (time)`);
      await p.query(
        `CREATE INDEX IF NOT EXISTS "${indexPrefix}_subject_time_idx" ON ${table} (subject, time)`,
      );
    },
    async write(events) {
      if (events.length === 0) return;
      const p = await getPool();
      for (let i = 0; i < events.length; i += maxRows) {
        const slice = events.slice(i, i + maxRows);
        const values: unknown[] = [];
        const tuples: string[] = [];
        for (const event of slice) {
          const row = rowOf(event);
          const base = values.length;
          tuples.push(`(${row.map((_, j) => `$${base + j + 1}`).join(',')})`);
          values.push(...row);
        }
        await p.query(
          `INSERT INTO ${table} (${COLUMNS.join(',')}) VALUES ${tuples.join(',')} ON CONFLICT (id) DO NOTHING`,
          values,
        );
      }
    },
    async check() {
      const p = await getPool();
      await p.query('SELECT 1');
    },
    async close() {
      if (ownsPool && pool) await pool.end();
      pool = undefined;
      creating = undefined;
    },
  };
}
