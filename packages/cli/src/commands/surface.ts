import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  captureSurface,
  diffSurface,
  formatDiff,
  LOCK_FILE_NAME,
  LockFileError,
  readLock,
  type SurfaceDiff,
  serializeLock,
  type ToolSurfaceLock,
} from '@mcp-harden/versioning';
import { type CliOption, type CommandInput, defineCommand, EXIT_CODES, UsageError } from '../command.js';
import { loadServerSurface } from '../load.js';

const moduleOptions: Record<string, CliOption> = {
  export: {
    type: 'string',
    value: '<name>',
    description: 'Export of the module to use (default: createServer, then default)',
  },
  authorized: {
    type: 'string',
    multiple: true,
    value: '<tool>',
    description:
      'A tool that has an authorization rule (repeatable); HardenedServer policies with a `rule` count too',
  },
  policy: {
    type: 'string',
    value: '<file>',
    description:
      'Policy file (YAML or JSON): every tool with a `rule` in it counts as authorized (servers built with fromPolicy)',
  },
  'policy-env': {
    type: 'string',
    value: '<name>',
    description: 'Environment of the --policy file whose overrides are merged before reading its rules',
  },
  timeout: {
    type: 'string',
    value: '<ms>',
    description: 'Give up listing the server after <ms> (default 10000)',
  },
};

function timeoutOf(values: CommandInput['values']): number | undefined {
  const raw = values.timeout;
  if (raw === undefined) return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms <= 0)
    throw new UsageError(`--timeout must be a positive integer, got ${String(raw)}`);
  return ms;
}

async function liveLock(input: CommandInput): Promise<{ lock: ToolSurfaceLock; source: string }> {
  const [modulePath] = input.positionals;
  const loaded = await loadServerSurface(modulePath!, {
    cwd: input.io.cwd,
    exportName: input.values.export as string | undefined,
    authorizedTools: (input.values.authorized as string[] | undefined) ?? [],
    timeoutMs: timeoutOf(input.values),
    ...(input.values.policy !== undefined ? { policyFile: input.values.policy as string } : {}),
    ...(input.values['policy-env'] !== undefined
      ? { policyEnvironment: input.values['policy-env'] as string }
      : {}),
  });
  try {
    return { lock: captureSurface(loaded.surface), source: loaded.source };
  } catch (err) {
    throw new UsageError(`the server's surface cannot be captured: ${(err as Error).message}`);
  }
}

function readLockFile(file: string, shown: string): ToolSurfaceLock {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`lock file not found: ${shown} (create it with \`mcp-harden lock\`)`);
  }
  try {
    return readLock(text);
  } catch (err) {
    if (err instanceof LockFileError) throw new UsageError(`${shown}: ${err.message}`);
    throw err;
  }
}

const diffJson = (diff: SurfaceDiff) => ({
  ok: diff.ok,
  counts: diff.counts,
  changes: diff.changes,
  unaccepted: diff.unaccepted.map((c) => c.id),
  staleAccepted: diff.staleAccepted,
});

const count = (lock: ToolSurfaceLock) => ({
  tools: Object.keys(lock.tools).length,
  prompts: Object.keys(lock.prompts).length,
  resourceTemplates: Object.keys(lock.resourceTemplates).length,
});

/**
 * `mcp-harden lock`: writes the tool-surface lock of a server module.
 *
 * @example
 * ```sh
 * mcp-harden lock dist/server.js --out mcp-tools.lock.json
 * ```
 */
export const lockCommand = defineCommand({
  name: 'lock',
  summary: 'Write the tool-surface lock (mcp-tools.lock.json) of a server module',
  usage:
    'lock <module> [--out <file>] [--export <name>] [--authorized <tool>]... [--policy <file> [--policy-env <name>]] [--json]',
  description:
    'Loads <module>, lists its tools, prompts and resource templates through the official SDK client, and writes\n' +
    'SHA-256 fingerprints of each part (name, description, schemas, annotations, _meta) plus the canonical schemas.\n' +
    'When the lock already exists, the changes since it are printed. The new lock starts with an empty `accepted` list.\n' +
    'Module contract: export createServer() (or a default export) returning an McpServer, Server or HardenedServer.',
  exitCodes: {
    2: 'usage or input error: missing argument, bad option, a module that does not load, exports no server or does not answer within --timeout',
  },
  positionals: { min: 1, max: 1, names: ['module'] },
  options: {
    out: {
      type: 'string',
      short: 'o',
      value: '<file>',
      description: `Lock file to write (default ${LOCK_FILE_NAME})`,
    },
    ...moduleOptions,
  },
  async run(input) {
    const { lock, source } = await liveLock(input);
    const shown = (input.values.out as string | undefined) ?? LOCK_FILE_NAME;
    const file = resolve(input.io.cwd, shown);
    let previous: SurfaceDiff | undefined;
    if (existsSync(file)) {
      try {
        previous = diffSurface(readLock(readFileSync(file, 'utf8')), lock);
      } catch {
        previous = undefined; // an unreadable old lock is simply replaced
      }
    }
    const temp = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, serializeLock(lock));
      renameSync(temp, file);
    } catch (err) {
      throw new UsageError(
        `cannot write ${shown}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    const counts = count(lock);
    if (input.json) {
      input.io.stdout(
        `${JSON.stringify({ ok: true, file: shown, source, counts, changes: previous?.changes ?? null })}\n`,
      );
      return EXIT_CODES.ok;
    }
    input.io.stdout(
      `Wrote ${shown} from ${source}: ${counts.tools} tool(s), ${counts.prompts} prompt(s), ${counts.resourceTemplates} resource template(s).\n`,
    );
    if (previous && previous.changes.length > 0) {
      input.io.stdout(
        `\nChanges since the previous lock:\n${formatDiff({ ...previous, ok: true, unaccepted: [] })}`,
      );
    }
    return EXIT_CODES.ok;
  },
});

/**
 * `mcp-harden check`: compares a server module with its lock; exit 1 on unaccepted breaking or risky changes.
 *
 * @example
 * ```sh
 * mcp-harden check dist/server.js --lock mcp-tools.lock.json --json
 * ```
 */
export const checkCommand = defineCommand({
  name: 'check',
  summary: 'Check a server module against its lock; fails on breaking or risky changes not accepted',
  usage:
    'check <module> [--lock <file>] [--export <name>] [--authorized <tool>]... [--policy <file> [--policy-env <name>]] [--json]',
  description:
    'Lists <module> like `lock` does and classifies every difference with the lock as breaking (tool removed,\n' +
    'argument added as required, type narrowed, enum value removed, output field removed), risky (description or\n' +
    '_meta text changed, even by invisible characters only; read-only tool now destructive; new tool without an\n' +
    "authorization rule) or compatible. Exits 1 when a breaking or risky change is not listed in the lock's\n" +
    '`accepted` array (ids as printed in the report).',
  exitCodes: {
    1: 'check failed: breaking or risky changes not accepted in the lock',
    2: 'usage or input error: missing or malformed lock file (the message names the field), a module that does not load',
  },
  positionals: { min: 1, max: 1, names: ['module'] },
  options: {
    lock: {
      type: 'string',
      short: 'l',
      value: '<file>',
      description: `Lock file to check against (default ${LOCK_FILE_NAME})`,
    },
    ...moduleOptions,
  },
  async run(input) {
    const shown = (input.values.lock as string | undefined) ?? LOCK_FILE_NAME;
    const locked = readLockFile(resolve(input.io.cwd, shown), shown);
    const { lock: live } = await liveLock(input);
    const diff = diffSurface(locked, live);
    if (input.json) {
      input.io.stdout(`${JSON.stringify({ lock: shown, ...diffJson(diff) })}\n`);
    } else {
      input.io.stdout(`Checking ${input.positionals[0]} against ${shown}\n\n${formatDiff(diff)}`);
    }
    return diff.ok ? EXIT_CODES.ok : EXIT_CODES.checkFailed;
  },
});
