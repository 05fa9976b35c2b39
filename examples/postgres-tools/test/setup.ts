import { randomBytes } from 'node:crypto';
import type { ServedMcp } from '@mcp-harden/http';
import { type PostgresService, startPostgres } from '@mcp-harden/test-services';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { createDatabase, type Database, devPrincipal, migrate, startOrdersService } from '../src/index.js';

export interface Env {
  pg: PostgresService;
  admin: pg.Pool;
  db: Database;
  served: ServedMcp;
  readerUrl: string;
  writerUrl: string;
  /** Errors the tool handlers reported through `onError`. */
  toolErrors: Array<{ error: unknown; tool: string }>;
  /** An SDK client over Streamable HTTP acting as the development principal `who` (no header when undefined). */
  connect(who: string | undefined): Promise<Client>;
  stop(): Promise<void>;
}

export async function startEnv(): Promise<Env> {
  const service = await startPostgres();
  const clients: Client[] = [];
  let admin: pg.Pool | undefined;
  let db: Database | undefined;
  let served: ServedMcp | undefined;
  const stop = async () => {
    for (const c of clients) await c.close().catch(() => {});
    await served?.close();
    await db?.close();
    await admin?.end();
    await service.stop();
  };
  try {
    const passwords = {
      readerPassword: randomBytes(18).toString('base64url'),
      writerPassword: randomBytes(18).toString('base64url'),
    };
    const { readerUrl, writerUrl } = await migrate(service.url, passwords);
    admin = new pg.Pool({ connectionString: service.url, max: 2 });
    // Idle admin connections are killed by the outage test; that is expected.
    admin.on('error', () => {});
    db = createDatabase({ readerUrl, writerUrl, maxConnections: 4 });
    const toolErrors: Env['toolErrors'] = [];
    served = await startOrdersService({
      db,
      authenticate: [devPrincipal()],
      onError: (error, tool) => toolErrors.push({ error, tool }),
    });
    const url = served.url;
    return {
      pg: service,
      admin,
      db,
      served,
      readerUrl,
      writerUrl,
      toolErrors,
      async connect(who) {
        const headers: Record<string, string> = who === undefined ? {} : { 'x-dev-principal': who };
        const client = new Client({ name: 'postgres-tools-test', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
        clients.push(client);
        return client;
      },
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/** The JSON a tool returned in its first text block. */
export function body<T = Record<string, unknown>>(result: unknown): T {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content;
  const text = content?.[0]?.text;
  if (typeof text !== 'string') throw new Error(`no text content in ${JSON.stringify(result)}`);
  return JSON.parse(text) as T;
}
