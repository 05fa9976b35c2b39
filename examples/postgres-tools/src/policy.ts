import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type LoadedPolicy, parsePolicy } from '@mcp-harden/policy';

/**
 * The reviewed policy file of this example, `policy.yaml` next to `package.json` (the same path
 * from `src/` and from the built `dist/`).
 *
 * @example
 * ```ts
 * loadOrdersPolicy(POLICY_FILE).effective.tools?.orders_get?.rule;
 * ```
 */
export const POLICY_FILE = fileURLToPath(new URL('../policy.yaml', import.meta.url));

/**
 * Reads and validates a policy file (default {@link POLICY_FILE}). Throws `PolicyError` (a
 * `TypeError`) naming file, line and field when it is invalid, before anything is served.
 *
 * @example
 * ```ts
 * const hardened = createOrdersServer({ db, authenticate: [devPrincipal()], policy: loadOrdersPolicy() });
 * ```
 */
export function loadOrdersPolicy(path: string = POLICY_FILE): LoadedPolicy {
  return parsePolicy(readFileSync(path, 'utf8'), { filename: path });
}
