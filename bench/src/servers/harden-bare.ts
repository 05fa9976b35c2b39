/**
 * (7) mcp-harden with nothing installed: the same @mcp-harden/http `serve()` hosting as (6) in
 * stateless mode, with an empty middleware chain. Measures the adapter's and host's own cost.
 *
 * With `BENCH_FLOOR` (`otel`, `audit` or both, comma-separated) the chain holds the hand-written
 * floors of src/floors.ts instead: the least any tracing or audit implementation costs (src/paired.ts).
 */
import { serve } from '@mcp-harden/http';
import { harden } from '@mcp-harden/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { floors } from '../floors.js';
import { ECHO_DESCRIPTION, HOST, PORT, REPORT_DESCRIPTION, REPORT_TEXT } from './common.js';

const floor = floors(process.env.BENCH_FLOOR ?? '');

const served = await serve({
  mode: 'stateless',
  host: HOST,
  port: PORT,
  createServer: () => {
    const server = new McpServer({ name: 'bench-harden-bare', version: '1.0.0' });
    const hardened = harden(server, { use: floor.use });
    server.registerTool(
      'echo',
      { description: ECHO_DESCRIPTION, inputSchema: { text: z.string() } },
      async ({ text }) => ({ content: [{ type: 'text', text }] }),
    );
    server.registerTool('report', { description: REPORT_DESCRIPTION }, async () => ({
      content: [{ type: 'text', text: REPORT_TEXT }],
    }));
    return hardened;
  },
});

process.on('SIGTERM', () => {
  void served
    .close({ deadlineMs: 2_000 })
    .then(() => floor.close())
    .finally(() => process.exit(0));
});

process.stdout.write(`READY ${served.port}\n`);
