/**
 * (5) fastmcp (the TypeScript one on npm) over its httpStream transport. 3.9.0 is the newest
 * release whose dependencies install on Node 20 (4.x pulls packages that need Node 22).
 *
 * `FastMCP.start()` binds every interface ("::") with no way to choose; to keep to loopback this
 * file does what `start({ transportType: 'httpStream' })` does — mcp-proxy's `startHTTPServer`
 * creating a `FastMCPSession` per session — with `host: '127.0.0.1'`.
 */
import { FastMCPSession, type Tool } from 'fastmcp';
import { startHTTPServer } from 'mcp-proxy';
import { z } from 'zod';
import { ECHO_DESCRIPTION, HOST, PORT, REPORT_DESCRIPTION, REPORT_TEXT } from './common.js';
import { freePort } from './port.js';

const tools: Tool<undefined>[] = [
  {
    name: 'echo',
    description: ECHO_DESCRIPTION,
    parameters: z.object({ text: z.string() }),
    execute: async (args) => (args as { text: string }).text,
  } as Tool<undefined>,
  { name: 'report', description: REPORT_DESCRIPTION, execute: async () => REPORT_TEXT } as Tool<undefined>,
];

const port = PORT || (await freePort());
await startHTTPServer({
  host: HOST,
  port,
  createServer: async () =>
    new FastMCPSession({
      name: 'bench-fastmcp',
      version: '1.0.0',
      prompts: [],
      resources: [],
      resourcesTemplates: [],
      tools,
      transportType: 'httpStream',
    }),
});
process.stdout.write(`READY ${port}\n`);
