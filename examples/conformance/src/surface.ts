/**
 * The tool surface of this example for `mcp-harden lock` / `mcp-harden check`: the same
 * registrations as the served server, with no middleware (listing never runs a handler) and the
 * policy file's authorization rules declared per target, so the lock records which tools the file
 * gives a rule. Served, the rules live in rbac's options (built by `fromPolicy`) instead, where
 * they are evaluated once.
 */
import { rulesAsPolicies } from '@mcp-harden/policy';
import { buildServer, policy } from './server.js';

/**
 * The server whose surface `mcp-harden lock dist/surface.js` records.
 *
 * @example
 * ```sh
 * mcp-harden check dist/surface.js --lock mcp-tools.lock.json
 * ```
 */
export function createServer() {
  return buildServer([], rulesAsPolicies(policy.effective));
}
