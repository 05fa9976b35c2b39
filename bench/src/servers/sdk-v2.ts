/** (3) The official SDK v2 (`@modelcontextprotocol/server`) handler, mounted on node:http. */
import { createServer } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { announce, ECHO_DESCRIPTION, HOST, PORT, REPORT_DESCRIPTION, REPORT_TEXT } from './common.js';

const handler = createMcpHandler(() => {
  const server = new McpServer({ name: 'bench-sdk-v2', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: ECHO_DESCRIPTION, inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  server.registerTool('report', { description: REPORT_DESCRIPTION }, async () => ({
    content: [{ type: 'text', text: REPORT_TEXT }],
  }));
  return server;
});
const node = toNodeHandler(handler);
const http = createServer((req, res) => void node(req, res));
http.listen(PORT, HOST, () => announce(http));
