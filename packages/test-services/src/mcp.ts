/**
 * Hosting helpers for suites that drive a hardened MCP server with the official SDK client: in
 * memory, or over Streamable HTTP on 127.0.0.1 the way the SDK's own examples do (a server per
 * session in stateful mode, a server per request in stateless mode).
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

/** What `harden()` returns, as far as hosting needs it. */
export interface HostableServer {
  connect(transport: Transport, options?: { kind?: string }): Promise<void>;
  readonly server: { close(): Promise<void> };
}

/** A client connected to a server, and how to take both down. */
export interface Connection {
  client: Client;
  close(): Promise<void>;
}

/** Connects `client` to `hardened` through a linked in-memory transport pair. */
export async function connectInMemory(hardened: HostableServer, client: Client): Promise<Connection> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await hardened.connect(serverSide, { kind: 'memory' });
  await client.connect(clientSide);
  return {
    client,
    async close() {
      await client.close();
      await hardened.server.close();
    },
  };
}

/** Reads a request body as JSON; a body that is not JSON is handed on as text for the SDK to refuse. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A running host. */
export interface McpHttpHost<S extends HostableServer> {
  url: URL;
  /** Every server the host built, in order (one per session, or one per request when stateless). */
  servers: S[];
  close(): Promise<void>;
}

export interface McpHttpHostOptions<S extends HostableServer> {
  mode: 'stateful' | 'stateless';
  createServer: () => S;
  /** Runs around each HTTP request (to open an HTTP server span, say); must call `handle`. */
  around?: (req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>) => Promise<void>;
}

/** Serves servers from `createServer` over Streamable HTTP on 127.0.0.1 and a free port. */
export async function hostMcpOverHttp<S extends HostableServer>(
  options: McpHttpHostOptions<S>,
): Promise<McpHttpHost<S>> {
  const servers: S[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = req.method === 'POST' ? await readJsonBody(req) : undefined;
    if (options.mode === 'stateless') {
      const hardened = options.createServer();
      servers.push(hardened);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void hardened.server.close());
      await hardened.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (!transport) {
      const hardened = options.createServer();
      servers.push(hardened);
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, created),
      });
      transport = created;
      await hardened.connect(transport);
    }
    await transport.handleRequest(req, res, body);
  };
  const http: HttpServer = createServer(async (req, res) => {
    try {
      if (options.around) await options.around(req, res, () => handle(req, res));
      else await handle(req, res);
    } catch {
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    servers,
    async close() {
      for (const s of servers) await s.server.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
