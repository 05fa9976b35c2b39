/**
 * (1) The official SDK v1 stateless server exactly as its documentation shows: a new McpServer
 * and transport for every request. With BENCH_SHARED_VALIDATOR=1 it is (2): the same, with one
 * JSON-schema validator shared by all the per-request servers.
 */
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { z } from 'zod';
import {
  announce,
  ECHO_DESCRIPTION,
  HOST,
  PORT,
  REPORT_DESCRIPTION,
  REPORT_TEXT,
  readJson,
} from './common.js';

const shared = process.env.BENCH_SHARED_VALIDATOR === '1' ? new AjvJsonSchemaValidator() : undefined;

function buildServer(): McpServer {
  const server = new McpServer(
    { name: 'bench-sdk-v1', version: '1.0.0' },
    shared ? { jsonSchemaValidator: shared } : undefined,
  );
  server.registerTool(
    'echo',
    { description: ECHO_DESCRIPTION, inputSchema: { text: z.string() } },
    async ({ text }) => ({
      content: [{ type: 'text', text }],
    }),
  );
  server.registerTool('report', { description: REPORT_DESCRIPTION }, async () => ({
    content: [{ type: 'text', text: REPORT_TEXT }],
  }));
  return server;
}

const http = createServer(async (req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  const body = await readJson(req);
  const server = buildServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
});
http.listen(PORT, HOST, () => announce(http));
