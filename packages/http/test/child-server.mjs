// A server process for the tests that need their own process (signals, memory, replicas).
// It imports the built package (dist/): run `pnpm --filter @mcp-harden/http build` first.
// Configuration by environment; it reports on stdout as JSON lines and takes commands on stdin.
import { createInterface } from 'node:readline';
import { harden } from '@mcp-harden/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { redisEventStore, redisSessionStore, serve } from '../dist/index.js';

const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const mode = process.env.MODE ?? 'stateless';
const replica = process.env.REPLICA ?? 'a';

let release;
const released = new Promise((resolve) => {
  release = resolve;
});
let started = 0;

const createServer = () => {
  const server = new McpServer({ name: 'child', version: '1.0.0' });
  const hardened = harden(server, { use: [] });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }, extra) => ({
    content: [{ type: 'text', text }],
    structuredContent: { text, replica, session: extra.sessionId ?? null },
  }));
  server.registerTool('slow', { inputSchema: { n: z.number() } }, async ({ n }) => {
    started++;
    if (started % 50 === 0) say({ started });
    await released;
    return { content: [{ type: 'text', text: `done ${n}` }] };
  });
  return hardened;
};

const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined;
const served = await serve({
  mode,
  createServer,
  port: Number(process.env.PORT ?? 0),
  session: redis ? { store: redisSessionStore(redis), eventStore: redisEventStore(redis) } : undefined,
  shutdown: { signals: ['SIGTERM', 'SIGINT'], deadlineMs: 20_000 },
  healthChecks: redis ? [] : undefined,
  onError: () => {},
});
// Registered after serve(): it runs after the shutdown handler has started draining.
process.on('SIGTERM', () => say({ draining: served.handler.draining }));
if (redis) served.server.on('close', () => redis.disconnect());

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'release') release();
  if (line === 'heap') {
    globalThis.gc?.();
    globalThis.gc?.();
    say({ heap: process.memoryUsage().heapUsed });
  }
});
say({ url: served.url.href, port: served.port });
