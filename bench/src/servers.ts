import type { ServerSpec } from './harness.js';

/** Every server in the comparison, in the order of the issue. */
export const SERVERS: ServerSpec[] = [
  {
    name: 'sdk-v1-per-request',
    description: 'official SDK v1 stateless, a new McpServer and transport per request, as its docs show',
    script: 'sdk-v1.js',
  },
  {
    name: 'sdk-v1-shared-validator',
    description: 'the same with one JSON-schema validator shared by every per-request server',
    script: 'sdk-v1.js',
    env: { BENCH_SHARED_VALIDATOR: '1' },
  },
  {
    name: 'sdk-v2',
    description: 'official SDK v2 (@modelcontextprotocol/server 2.4) createMcpHandler on node:http',
    script: 'sdk-v2.js',
  },
  { name: 'tmcp', description: 'tmcp 1.20 with @tmcp/transport-http', script: 'tmcp.js' },
  { name: 'fastmcp', description: 'fastmcp 3.9 httpStream (sessionful)', script: 'fastmcp.js' },
  {
    name: 'mcp-harden-full',
    description:
      'mcp-harden with every package on: @mcp-harden/http serve() stateless, ES256 JWT auth (edge + chain, cached), rbac, memory rate limit (3 levels), sanitize (input schemas + guards, output redaction), telemetry (OTel SDK, batch processor, no-op exporter), audit (hash-chained file sink, fsync)',
    script: 'harden-full.js',
  },
  {
    name: 'mcp-harden-bare',
    description:
      'the same @mcp-harden/http serve() stateless hosting with no middleware (the adapter and host alone)',
    script: 'harden-bare.js',
  },
];
