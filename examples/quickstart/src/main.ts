import { startQuickstart } from './server.js';

const running = await startQuickstart({
  host: process.env.HOST ?? '127.0.0.1',
  port: Number(process.env.PORT ?? 3000),
});
console.error(`mcp-harden quickstart listening on ${running.url.href}`);
const stop = () => void running.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
