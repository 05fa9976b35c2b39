import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/stdio-server.mjs', import.meta.url));

describe('harden() over stdio', () => {
  it('filters lists and refuses calls for the official client', async () => {
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args: [fixture], stderr: 'ignore' }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['echo']);
      expect((await client.callTool({ name: 'echo', arguments: { text: 'over stdio' } })).content).toEqual([
        { type: 'text', text: 'over stdio' },
      ]);
      const refused = await client.callTool({ name: 'delete_all', arguments: {} }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(McpError);
      expect((refused as McpError).data).toEqual({ code: 'ERR_FORBIDDEN' });
    } finally {
      await client.close();
    }
  });

  it('keeps serving after a malformed line', async () => {
    const child = spawn(process.execPath, [fixture], { stdio: ['pipe', 'pipe', 'ignore'] });
    const lines = createInterface({ input: child.stdout! });
    const responses: unknown[] = [];
    const next = () =>
      new Promise<unknown>((resolve) => {
        lines.once('line', (line) => resolve(JSON.parse(line)));
      });
    try {
      child.stdin!.write('{this is not json\n');
      child.stdin!.write('{"jsonrpc":"2.0","id":1}\n');
      const init = next();
      child.stdin!.write(
        `${JSON.stringify({
          jsonrpc: '2.0',
          id: 2,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'raw', version: '1' },
          },
        })}\n`,
      );
      responses.push(await init);
      expect(responses[0]).toMatchObject({ id: 2, result: { serverInfo: { name: 'stdio-fixture' } } });
      const call = next();
      child.stdin!.write(
        `${JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: 42 } })}\n`,
      );
      expect(await call).toMatchObject({
        id: 3,
        error: { code: -32602, data: { code: 'ERR_INVALID_ARGUMENTS', path: 'arguments' } },
      });
    } finally {
      child.kill();
    }
  });
});
