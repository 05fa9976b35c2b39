#!/usr/bin/env node
import { runCli } from './run.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    // Exit explicitly: a loaded server module may leave timers or sockets open.
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`mcp-harden: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(2);
  },
);
