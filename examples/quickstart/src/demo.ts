import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { McpError } from '@modelcontextprotocol/sdk/types.js';
import { startQuickstart } from './server.js';

/** Plays a scripted session against the quickstart and returns the transcript lines. */
export async function runDemo(print: (line: string) => void = console.log): Promise<void> {
  const server = await startQuickstart({ port: 0, log: (line) => print(`  server: ${line}`) });
  const client = new Client({ name: 'quickstart-demo', version: '0.1.0' });
  try {
    print(`1. connect to ${server.url.href}`);
    await client.connect(new StreamableHTTPClientTransport(server.url));
    const { tools } = await client.listTools();
    print(`2. tools/list -> ${tools.map((t) => t.name).join(', ')}`);
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'hello, hardened world' } });
    print(`3. tools/call echo -> ${JSON.stringify(echo.content)}`);
    try {
      await client.callTool({ name: 'admin_reset', arguments: {} });
      print('4. tools/call admin_reset -> unexpectedly allowed');
      process.exitCode = 1;
    } catch (err) {
      const e = err as McpError;
      print(`4. tools/call admin_reset -> refused: JSON-RPC ${e.code}, data ${JSON.stringify(e.data)}`);
    }
    const bad = await client
      .callTool({ name: 'echo', arguments: { text: 42 } })
      .catch((err: McpError) => ({ content: [{ type: 'text', text: `error ${err.code}` }], isError: true }));
    print(
      `5. tools/call echo with a number -> ${JSON.stringify(bad.content)} (isError: ${String(bad.isError)})`,
    );
    print('done');
  } finally {
    await client.close();
    await server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runDemo();
}
