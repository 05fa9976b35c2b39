export type { CliCommand, CliIo, CliOption, CommandInput, ExitCode } from './command.js';
export { defineCommand, EXIT_CODES, UsageError } from './command.js';
export { auditVerifyCommand } from './commands/audit.js';
export { explainCommand, tokenCommand, validateCommand } from './commands/policy.js';
export { checkCommand, lockCommand } from './commands/surface.js';
export { COMMANDS } from './commands.js';
export type { LoadedSurface, LoadServerOptions } from './load.js';
export { loadServerSurface } from './load.js';
export { runCli } from './run.js';
