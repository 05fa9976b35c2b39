import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type CliCommand, type CliIo, EXIT_CODES, type ExitCode, UsageError } from './command.js';
import { COMMANDS } from './commands.js';

const USAGE_ERROR = 'usage or input error (unknown command or option, missing or malformed file, ...)';

function exitHelp(commands: readonly CliCommand[]): string {
  const failing = commands.filter((c) => c.exitCodes?.[1]);
  const width = Math.max(0, ...failing.map((c) => c.name.length));
  return [
    'Exit codes:',
    '  0  ok',
    '  1  check failed / denied / broken chain:',
    ...failing.map((c) => `       ${c.name.padEnd(width)}  ${c.exitCodes![1]}`),
    `  2  ${USAGE_ERROR}`,
    '',
  ].join('\n');
}

function topHelp(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return (
    'Usage: mcp-harden <command> [options]\n\nCommands:\n' +
    commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n') +
    '\n\nGlobal options:\n  -h, --help  Show help (also after a command)\n  --json      Machine-readable output on stdout\n\n' +
    exitHelp(commands) +
    '\nRun mcp-harden <command> --help for its usage, options and exit codes.\n'
  );
}

function commandHelp(command: CliCommand): string {
  const lines = [`Usage: mcp-harden ${command.usage}`, '', command.summary];
  if (command.description) lines.push('', command.description);
  lines.push('', 'Options:');
  const opts = Object.entries(command.options ?? {}).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`,
    o.description,
  ]);
  opts.push(['-h, --help', 'Show this help'], ['    --json', 'Print one JSON document on stdout']);
  const width = Math.max(...opts.map(([flag]) => flag!.length));
  for (const [flag, text] of opts) lines.push(`  ${flag!.padEnd(width)}  ${text}`);
  lines.push('', 'Exit codes:', '  0  ok');
  if (command.exitCodes?.[1]) lines.push(`  1  ${command.exitCodes[1]}`);
  lines.push(`  2  ${command.exitCodes?.[2] ?? USAGE_ERROR}`);
  return `${lines.join('\n')}\n`;
}

function findCommand(
  args: readonly string[],
  commands: readonly CliCommand[],
): [CliCommand, number] | undefined {
  const words: string[] = [];
  for (const arg of args) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  const byLength = [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const command of byLength) {
    const parts = command.name.split(' ');
    if (parts.every((p, i) => words[i] === p)) return [command, parts.length];
  }
  return undefined;
}

function report(io: CliIo, json: boolean, message: string): ExitCode {
  if (json) io.stdout(`${JSON.stringify({ ok: false, error: { code: 'USAGE', message } })}\n`);
  else io.stderr(`mcp-harden: ${message}\n`);
  return EXIT_CODES.usage;
}

/**
 * Runs `mcp-harden` with the given arguments (without `node` and the script) and resolves with
 * the exit code. Never throws: bad usage and input give exit code 2 and a message, never a stack.
 *
 * @example
 * ```ts
 * import { runCli } from '@mcp-harden/cli';
 * const code = await runCli(['check', './server.mjs', '--json']);
 * ```
 */
export async function runCli(
  argv: readonly string[],
  io: Partial<CliIo> = {},
  commands: readonly CliCommand[] = COMMANDS,
): Promise<ExitCode> {
  const out: CliIo = {
    stdout: io.stdout ?? ((text) => process.stdout.write(text)),
    stderr: io.stderr ?? ((text) => process.stderr.write(text)),
    cwd: io.cwd ?? process.cwd(),
    env: io.env ?? process.env,
  };
  const json = argv.includes('--json');
  const found = findCommand(argv, commands);
  if (!found) {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      if (argv.length === 0) {
        out.stderr(topHelp(commands));
        return EXIT_CODES.usage;
      }
      out.stdout(topHelp(commands));
      return EXIT_CODES.ok;
    }
    const first = argv.find((a) => !a.startsWith('-'));
    return report(
      out,
      json,
      first ? `unknown command: ${first} (see mcp-harden --help)` : 'missing command (see mcp-harden --help)',
    );
  }
  const [command, consumed] = found;
  const rest = argv.slice(consumed);
  const options: NonNullable<ParseArgsConfig['options']> = {
    help: { type: 'boolean', short: 'h' },
    json: { type: 'boolean' },
  };
  for (const [name, o] of Object.entries(command.options ?? {})) {
    options[name] = o.short
      ? { type: o.type, short: o.short, multiple: o.multiple ?? false }
      : { type: o.type, multiple: o.multiple ?? false };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
  } catch (err) {
    return report(
      out,
      json,
      `${(err as Error).message.split('\n')[0]} (see mcp-harden ${command.name} --help)`,
    );
  }
  if (parsed.values.help) {
    out.stdout(commandHelp(command));
    return EXIT_CODES.ok;
  }
  const { min = 0, max = 0, names = [] } = command.positionals ?? {};
  if (parsed.positionals.length < min) {
    return report(
      out,
      json,
      `missing <${names[parsed.positionals.length] ?? 'argument'}> (usage: mcp-harden ${command.usage})`,
    );
  }
  if (parsed.positionals.length > max) {
    return report(
      out,
      json,
      `unexpected argument ${parsed.positionals[max]} (usage: mcp-harden ${command.usage})`,
    );
  }
  try {
    return await command.run({
      positionals: parsed.positionals,
      values: parsed.values as Record<string, string | boolean | string[] | boolean[] | undefined>,
      json,
      io: out,
    });
  } catch (err) {
    if (err instanceof UsageError) return report(out, json, err.message);
    // Anything else is unexpected: say what failed without a stack.
    return report(out, json, `${command.name} failed: ${(err as Error)?.message ?? String(err)}`);
  }
}
