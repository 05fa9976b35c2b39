import { PolicyError } from '@mcp-harden/policy';
import { configFromEnv } from './config.js';
import { startQuickstart } from './server.js';

// Configuration errors (a half-set MCP_AUTH_*, a bad PORT) stop here with a one-line message.
let config: ReturnType<typeof configFromEnv>;
try {
  config = configFromEnv();
} catch (err) {
  console.error(`quickstart: ${(err as Error).message}`);
  process.exit(2);
}

// A policy file that does not validate stops here too: every problem as file:line:column, no stack.
const running = await startQuickstart(config).catch((err: unknown) => {
  if (!(err instanceof PolicyError)) throw err;
  console.error(`quickstart: ${err.message}`);
  process.exit(2);
});
console.error(
  `health: ${new URL('/health', running.url).href}  ready: ${new URL('/ready', running.url).href}`,
);
console.error(`metadata: ${new URL('/.well-known/oauth-protected-resource/mcp', running.url).href}`);
if (running.devTokens) {
  console.error(`\nDevelopment issuer ${running.issuer} (loopback only, tokens valid for 1 hour):`);
  for (const [tenant, personas] of Object.entries(running.devTokens)) {
    for (const [persona, token] of Object.entries(personas)) {
      console.error(`  ${tenant} ${persona}: ${token}`);
    }
  }
  console.error(
    `\nTry: curl -s ${running.url.href} -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\\n` +
      `  -H 'Accept: application/json, text/event-stream' \\\n` +
      `  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'`,
  );
} else {
  console.error(`Trusting issuer ${running.issuer} only.`);
}

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.error(`${signal}: draining`);
  running.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error('shutdown failed:', err);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
