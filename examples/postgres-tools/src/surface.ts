/**
 * The tool surface of this example for `mcp-harden lock` / `mcp-harden check` (built to
 * dist/surface.js): the same registrations as the served server, from the same policy file, with no
 * middleware and no database (listing tools never runs a handler). The file's rules are declared per
 * tool so the lock records which tools have one.
 */

import { rulesAsPolicies } from '@mcp-harden/policy';
import { harden } from '@mcp-harden/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { loadOrdersPolicy } from './policy.js';
import { registerOrderTools } from './server.js';

/** Stands in for the database: a handler reached through this module fails closed. */
const noDatabase = {
  withTenant: () => Promise.reject(new Error('the surface module has no database')),
};

/**
 * The server whose surface `mcp-harden lock dist/surface.js` records.
 *
 * @example
 * ```sh
 * mcp-harden check dist/surface.js --lock mcp-tools.lock.json
 * ```
 */
export function createServer() {
  const policy = loadOrdersPolicy();
  const server = new McpServer({
    name: policy.effective.server.name,
    version: policy.effective.server.version,
  });
  const hardened = harden(server, { use: [], policies: rulesAsPolicies(policy.effective) });
  registerOrderTools(server, noDatabase, () => {});
  return hardened;
}
