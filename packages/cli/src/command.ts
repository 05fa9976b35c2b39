/**
 * Exit codes of `mcp-harden`, the same for every command.
 *
 * @example
 * ```ts
 * if ((await runCli(['check', 'server.mjs'])) === EXIT_CODES.checkFailed) console.error('surface changed');
 * ```
 */
export const EXIT_CODES = {
  /** The command did what was asked and found nothing wrong. */
  ok: 0,
  /** A check ran and failed: `check` changes not accepted, `explain` denied, `token` refused, `audit verify` broken chain. */
  checkFailed: 1,
  /** Bad usage or input: unknown command or option, missing file, malformed lock or policy, a module that does not load. */
  usage: 2,
} as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/**
 * Where a command writes and where it runs; injectable so commands run in tests without a process.
 *
 * @example
 * ```ts
 * await runCli(['lock', 'server.mjs'], { cwd: '/repo', stdout: (t) => lines.push(t) });
 * ```
 */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Directory relative paths are resolved against. */
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** An option of a command, in `node:util` `parseArgs` terms plus help text. */
export interface CliOption {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help (`<file>`). */
  value?: string;
  description: string;
}

/** What a command's `run` receives. */
export interface CommandInput {
  /** Positional arguments after the command name. */
  positionals: string[];
  /** Parsed option values by long name. */
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  /** True when `--json` was given: print one JSON document on stdout and nothing else. */
  json: boolean;
  io: CliIo;
}

/**
 * One command in the `mcp-harden` command table (see {@link defineCommand} for an example). `name` may have several words
 * (`audit verify`). `--help` and `--json` are added to every command.
 */
export interface CliCommand {
  name: string;
  /** One line shown in the command list. */
  summary: string;
  /** Usage line without the `mcp-harden` prefix: `lock <module> [--out <file>]`. */
  usage: string;
  /** Longer help text. */
  description?: string;
  options?: Record<string, CliOption>;
  /**
   * What exit codes 1 and 2 mean for this command, one line each (0 is always "ok"); shown in
   * its `--help` and in the top-level help. A command without `1` never exits 1.
   */
  exitCodes?: { 1?: string; 2?: string };
  /** How many positionals the command takes. */
  positionals?: { min: number; max: number; names?: string[] };
  /** Runs the command and resolves with its exit code; throw {@link UsageError} for bad input. */
  run(input: CommandInput): Promise<ExitCode>;
}

/**
 * Bad usage or input; the CLI prints the message (never a stack) and exits with
 * `EXIT_CODES.usage`.
 *
 * @example
 * ```ts
 * import { UsageError } from '@mcp-harden/cli';
 * throw new UsageError('policy.yaml:3: rate limit must be a number');
 * ```
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Declares a command for the command table, checking its shape at definition time.
 *
 * @example
 * ```ts
 * import { defineCommand, EXIT_CODES } from '@mcp-harden/cli';
 * export const hello = defineCommand({
 *   name: 'hello',
 *   summary: 'Says hello',
 *   usage: 'hello',
 *   async run({ io }) {
 *     io.stdout('hello\n');
 *     return EXIT_CODES.ok;
 *   },
 * });
 * ```
 */
export function defineCommand(command: CliCommand): CliCommand {
  if (typeof command?.name !== 'string' || !/^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*$/.test(command.name)) {
    throw new TypeError('defineCommand: name must be lower-case words');
  }
  if (typeof command.run !== 'function') throw new TypeError(`defineCommand: ${command.name} needs run()`);
  if (typeof command.summary !== 'string' || typeof command.usage !== 'string') {
    throw new TypeError(`defineCommand: ${command.name} needs summary and usage`);
  }
  for (const [code, text] of Object.entries(command.exitCodes ?? {})) {
    if ((code !== '1' && code !== '2') || typeof text !== 'string' || text === '') {
      throw new TypeError(`defineCommand: ${command.name} exitCodes takes one line for 1 and 2`);
    }
  }
  for (const reserved of ['help', 'json']) {
    if (command.options && reserved in command.options) {
      throw new TypeError(`defineCommand: --${reserved} is reserved`);
    }
  }
  return command;
}
