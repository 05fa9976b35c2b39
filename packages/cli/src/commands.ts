import type { CliCommand } from './command.js';
import { auditVerifyCommand } from './commands/audit.js';
import { explainCommand, tokenCommand, validateCommand } from './commands/policy.js';
import { checkCommand, lockCommand } from './commands/surface.js';

/**
 * The command table of `mcp-harden`. To add a command, define it with `defineCommand` in
 * `src/commands/` and list it here; `--help`, `--json`, parsing and exit codes come for free.
 *
 * @example
 * ```ts
 * await runCli(['lock', 'server.mjs'], {}, [...COMMANDS, myCommand]);
 * ```
 */
export const COMMANDS: readonly CliCommand[] = [
  lockCommand,
  checkCommand,
  validateCommand,
  explainCommand,
  tokenCommand,
  auditVerifyCommand,
];
