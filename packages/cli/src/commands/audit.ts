import { createReadStream, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chainFiles, formatChainReport, verifyChain } from '@mcp-harden/audit';
import { defineCommand, EXIT_CODES, UsageError } from '../command.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** True when the line has the shape of a `fileSink` chain record (`{ v: 1, prevHash, hash, event }`). */
function isChainRecord(line: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return false;
  }
  const r = value as Record<string, unknown> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    !Array.isArray(r) &&
    r.v === 1 &&
    typeof r.prevHash === 'string' &&
    HEX64.test(r.prevHash) &&
    typeof r.hash === 'string' &&
    HEX64.test(r.hash) &&
    typeof r.event === 'object' &&
    r.event !== null
  );
}

/** Whether a file has any chain record, and any non-empty line at all; stops at the first record. */
async function scan(file: string): Promise<{ record: boolean; content: boolean }> {
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let content = false;
  try {
    for await (const line of rl) {
      if (line.trim() === '') continue;
      content = true;
      if (isChainRecord(line)) return { record: true, content };
    }
  } finally {
    rl.close();
  }
  return { record: false, content };
}

/**
 * The files to verify, oldest first. One argument is expanded to its rotated set with
 * `chainFiles`: `audit.log` (the active file) or `audit.log.1` (the first rotated file) both
 * mean `audit.log.1, audit.log.2, ..., audit.log`. Several arguments are taken as given.
 */
function filesToVerify(args: readonly string[], cwd: string): string[] {
  // Paths are shown as typed when they resolve from the process directory, absolute otherwise.
  const path = (p: string) => (cwd === process.cwd() ? p : resolve(cwd, p));
  const given = args.map(path);
  let files = given;
  if (given.length === 1) {
    const arg = given[0]!;
    const rotated = /^(.*)\.(\d+)$/.exec(arg);
    const set = rotated ? chainFiles(rotated[1]!) : [];
    const at = set.indexOf(join(dirname(arg), basename(arg)));
    if (rotated && at >= 0) files = set.slice(at);
    else if (chainFiles(arg).length > 0) files = chainFiles(arg);
  }
  for (const file of files) {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(file);
    } catch {
      throw new UsageError(`audit log not found: ${file}`);
    }
    if (!stat.isFile()) throw new UsageError(`not a file: ${file}`);
  }
  return files;
}

function hashOption(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !HEX64.test(value)) {
    throw new UsageError(`--${name} must be a SHA-256 hash: 64 lower-case hex characters`);
  }
  return value;
}

/**
 * `mcp-harden audit verify <file...>`: verifies a hash-chained audit log written by
 * `fileSink` of `@mcp-harden/audit` (one file, a rotated set, or files listed oldest first) and
 * names the first edited, deleted or reordered record with its file and line.
 * Exit 0 intact, 1 broken or missing links, 2 usage or input error (missing file, not an audit log).
 *
 * @example
 * ```ts
 * import { auditVerifyCommand, runCli } from '@mcp-harden/cli';
 * const code = await runCli(['audit', 'verify', '/var/log/mcp/audit.log', '--json']);
 * // auditVerifyCommand.name === 'audit verify'
 * ```
 */
export const auditVerifyCommand = defineCommand({
  name: 'audit verify',
  summary: 'Verify a hash-chained audit log; name every edited, deleted or reordered record',
  usage: 'audit verify <file...> [--expected-head <hash>] [--start-hash <hash>]',
  description: [
    'Reads the files written by fileSink of @mcp-harden/audit and checks every link of the hash chain.',
    'One file argument stands for its whole rotated set (audit.log.1, audit.log.2, ..., audit.log);',
    'give audit.log or audit.log.1. Several arguments are verified as one chain, in the order given.',
    'The report names every broken or missing link by file and line: an edited record, a deleted',
    'record, reordered records, a torn line, a missing rotated file, or (with --expected-head) a cut end.',
    'After a break the check resumes from the record that broke, so one run names each tampering.',
  ].join('\n'),
  positionals: { min: 1, max: Number.POSITIVE_INFINITY, names: ['file'] },
  options: {
    'expected-head': {
      type: 'string',
      value: '<hash>',
      description: 'Hash the last record must have (fileSink().head() kept elsewhere): detects a cut end',
    },
    'start-hash': {
      type: 'string',
      value: '<hash>',
      description: 'prevHash of the first record, when older files were archived (default: genesis)',
    },
  },
  exitCodes: {
    1: 'broken chain: a record edited, deleted, reordered or torn, a rotated file missing, or a cut end',
    2: 'usage or input error: missing file, not a hash-chained audit log, malformed --expected-head/--start-hash',
  },
  async run({ positionals, values, json, io }) {
    const expectedHead = hashOption(values['expected-head'], 'expected-head');
    const startHash = hashOption(values['start-hash'], 'start-hash');
    const files = filesToVerify(positionals, io.cwd);
    let anyRecord = false;
    let anyContent = false;
    for (const file of files) {
      const seen = await scan(file);
      anyRecord ||= seen.record;
      anyContent ||= seen.content;
      if (anyRecord) break;
    }
    // A whole input without one chain record is the wrong file, not a tampered log.
    if (anyContent && !anyRecord) {
      throw new UsageError(
        `not a hash-chained audit log: ${files.join(', ')} (no line is a {"v":1,"prevHash","hash","event"} record written by fileSink)`,
      );
    }
    const report = await verifyChain(files, {
      all: true,
      ...(expectedHead ? { expectedHead } : {}),
      ...(startHash ? { startHash } : {}),
    });
    if (json) io.stdout(`${JSON.stringify(report)}\n`);
    else io.stdout(`${formatChainReport(report)}\n`);
    return report.ok ? EXIT_CODES.ok : EXIT_CODES.checkFailed;
  },
});
