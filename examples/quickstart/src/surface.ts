/**
 * The tool surface of the quickstart for `mcp-harden lock` / `mcp-harden check` (built to
 * dist/surface.js): the same registrations as the served server, from the same policy file, with
 * no middleware, no issuer and no stores started (listing never runs a handler). The file's rules
 * are declared per target so the lock records which tools have one; served, they live in rbac's
 * options (built by `fromPolicy`), where they are evaluated once.
 */
import { loadPolicy, rulesAsPolicies } from '@mcp-harden/policy';
import { harden } from '@mcp-harden/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { trace } from '@opentelemetry/api';
import { configFromEnv } from './config.js';
import { NoteStore, registerNotes } from './notes.js';
import { POLICY_FILE } from './server.js';

/**
 * The server whose surface `mcp-harden lock dist/surface.js` records.
 *
 * @example
 * ```sh
 * mcp-harden check dist/surface.js --lock mcp-tools.lock.json
 * ```
 */
export async function createServer() {
  // The issuer and audit paths are references filled in at start-up; the surface needs only rules.
  const policy = await loadPolicy(POLICY_FILE, { resolveReferences: false });
  const { name, version } = policy.effective.server;
  const server = new McpServer({ name, version });
  const hardened = harden(server, { use: [], policies: rulesAsPolicies(policy.effective) });
  registerNotes(hardened, new NoteStore(), {
    tracer: trace.getTracer('quickstart-notes'),
    writesPerMinute: configFromEnv({}).writesPerMinute,
  });
  return hardened;
}
