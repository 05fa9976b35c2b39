import {
  explainCommand as explain,
  type PolicyCommand,
  tokenCommand as token,
  validateCommand as validate,
} from '@mcp-harden/policy';
import { type CliCommand, defineCommand } from '../command.js';

/** The policy package ends each description with its own exit-code line; the CLI prints its own. */
function withExitCodes(command: PolicyCommand, exitCodes: CliCommand['exitCodes']): CliCommand {
  const description = command.description
    ?.split('\n')
    .filter((line) => !line.startsWith('Exit codes:'))
    .join('\n');
  return defineCommand({ ...command, ...(description ? { description } : {}), exitCodes });
}

/**
 * `mcp-harden validate <policy>`: see `runValidate` in `@mcp-harden/policy`. Exit 0 valid, 2 invalid.
 *
 * @example
 * ```ts
 * import { runCli } from '@mcp-harden/cli';
 * const code = await runCli(['validate', 'policy.yaml', '--env', 'production']); // 0 or 2
 * ```
 */
export const validateCommand = withExitCodes(validate, {
  2: 'invalid policy (each problem as file:line:column: field: message), missing file, bad option',
});

/**
 * `mcp-harden explain <policy> --tool X --principal claims.json`: see `runExplain` in
 * `@mcp-harden/policy`. Exit 0 allowed, 1 denied, 2 invalid input.
 *
 * @example
 * ```ts
 * import { runCli } from '@mcp-harden/cli';
 * const code = await runCli(['explain', 'policy.yaml', '--tool', 'notes_write', '--principal', 'rita.json', '--json']);
 * ```
 */
export const explainCommand = withExitCodes(explain, {
  1: 'denied: the call would be refused (the rule and the error code the client sees are printed)',
  2: 'invalid input: malformed policy, principal or arguments file, missing file, bad option',
});

/**
 * `mcp-harden token`: see `runToken` in `@mcp-harden/policy`. Exit 0 written, 1 refused in
 * production, 2 invalid input.
 *
 * @example
 * ```ts
 * import { runCli } from '@mcp-harden/cli';
 * await runCli(['token', '--init-key', '--key', 'dev.key.json']);
 * ```
 */
export const tokenCommand = withExitCodes(token, {
  1: 'refused: NODE_ENV=production (production tokens come from an identity provider)',
  2: 'invalid input: missing or unreadable key, bad option (alg, ttl, ...)',
});
