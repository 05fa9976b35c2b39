/**
 * (6) mcp-harden with every package on, hosted by @mcp-harden/http `serve()` in stateless mode:
 * bearer JWT auth (ES256, keys from a local issuer with a real JWKS endpoint started in this
 * process) at the HTTP edge and in the chain, rbac rules for both tools, a memory rate limit that
 * never refuses, sanitize (input schemas + guards, output redaction), telemetry with the real
 * OpenTelemetry SDK (batch span processor to a no-op exporter) and audit to a hash-chained file.
 *
 * Prints `TOKEN <jwt>` (the caller's access token, for the harness) and then `READY <port>`.
 */
import { serve } from '@mcp-harden/http';
import { harden } from '@mcp-harden/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { fullStack } from '../stack.js';
import { ECHO_DESCRIPTION, HOST, PORT, REPORT_DESCRIPTION, REPORT_TEXT } from './common.js';

// BENCH_WITHOUT: comma-separated middleware names to leave out (audit, telemetry, auth, rbac,
// rate-limit, sanitize) and `edge-auth` for the HTTP-level check: one package's share (src/paired.ts).
const without = new Set(process.env.BENCH_WITHOUT?.split(',') ?? []);
// BENCH_SAMPLE_RATIO: record only this fraction of the traces (the default records every span).
const ratio = process.env.BENCH_SAMPLE_RATIO;
const stack = await fullStack(ratio ? { sampleRatio: Number(ratio) } : {});
const use = stack.middleware.filter((m) => !without.has(m.middlewareName ?? ''));

const served = await serve({
  mode: 'stateless',
  host: HOST,
  port: PORT,
  ...(without.has('edge-auth') ? {} : { authenticate: (req) => stack.auth.authenticateRequest(req) }),
  createServer: () => {
    const server = new McpServer({ name: 'bench-harden-full', version: '1.0.0' });
    const hardened = harden(server, { use });
    hardened
      .withPolicy({ tags: ['read-only'] })
      .registerTool(
        'echo',
        { description: ECHO_DESCRIPTION, inputSchema: { text: z.string() } },
        async ({ text }) => ({ content: [{ type: 'text', text }] }),
      );
    hardened
      .withPolicy({ tags: ['read-only'] })
      .registerTool('report', { description: REPORT_DESCRIPTION }, async () => ({
        content: [{ type: 'text', text: REPORT_TEXT }],
      }));
    return hardened;
  },
});

process.on('SIGTERM', () => {
  void served
    .close({ deadlineMs: 2_000 })
    .then(() => stack.close())
    .finally(() => process.exit(0));
});

process.stdout.write(`TOKEN ${stack.token}\n`);
process.stdout.write(`READY ${served.port}\n`);
