/** (4) tmcp with its HTTP transport, on node:http. */
import { createServer } from 'node:http';
import { ZodJsonSchemaAdapter } from '@tmcp/adapter-zod';
import { HttpTransport } from '@tmcp/transport-http';
import { McpServer } from 'tmcp';
import { z } from 'zod';
import { announce, ECHO_DESCRIPTION, HOST, PORT, REPORT_DESCRIPTION, REPORT_TEXT } from './common.js';

const server = new McpServer(
  { name: 'bench-tmcp', version: '1.0.0', description: 'benchmark' },
  { adapter: new ZodJsonSchemaAdapter(), capabilities: { tools: {} } },
);
server.tool(
  { name: 'echo', description: ECHO_DESCRIPTION, schema: z.object({ text: z.string() }) },
  async ({ text }) => ({ content: [{ type: 'text', text }] }),
);
server.tool({ name: 'report', description: REPORT_DESCRIPTION }, async () => ({
  content: [{ type: 'text', text: REPORT_TEXT }],
}));
const transport = new HttpTransport(server);

const http = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(key, value);
  }
  const request = new Request(`http://${HOST}${req.url}`, {
    method: req.method,
    headers,
    body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
  });
  const response = (await transport.respond(request)) ?? new Response(null, { status: 404 });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
});
http.listen(PORT, HOST, () => announce(http));
