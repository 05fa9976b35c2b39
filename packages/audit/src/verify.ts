import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { chainHash, GENESIS_HASH } from './chain.js';

/**
 * Why a chain is broken.
 *
 * @example
 * ```ts
 * if (report.break?.kind === 'hash_mismatch') alert(`edited record at line ${report.break.line}`);
 * ```
 */
export type ChainBreakKind =
  | 'missing_file'
  | 'malformed'
  | 'hash_mismatch'
  | 'missing_record'
  | 'reordered'
  | 'head_mismatch';

/**
 * The first broken or missing link. `line` is 1-based; 0 for a whole missing file.
 *
 * @example
 * ```ts
 * const { file, line, reason }: ChainBreak = report.break!;
 * ```
 */
export interface ChainBreak {
  kind: ChainBreakKind;
  file: string;
  line: number;
  /** One sentence for humans, naming the file and line. */
  reason: string;
  /** The hash that should have been there, when relevant. */
  expected?: string;
  /** The hash that was found, when relevant. */
  actual?: string;
}

/**
 * Result of {@link verifyChain}.
 *
 * @example
 * ```ts
 * const report: ChainReport = await verifyChain(chainFiles('audit.log'));
 * ```
 */
export interface ChainReport {
  ok: boolean;
  /** Records verified before the break (all of them when `ok`). */
  records: number;
  files: { path: string; records: number }[];
  /** Hash of the last verified record. */
  head: string;
  /** The first break. */
  break?: ChainBreak;
  /** With `all: true`: every break found, in file order (`break` is the first of them). */
  breaks?: ChainBreak[];
}

/**
 * Options of {@link verifyChain}.
 *
 * @example
 * ```ts
 * await verifyChain(files, { expectedHead: anchoredHash });
 * ```
 */
export interface VerifyChainOptions {
  /** `prevHash` the first record must carry; default the genesis hash (a chain from its start). */
  startHash?: string;
  /** Hash the last record must have (from `fileSink().head()` anchored elsewhere); detects truncation. */
  expectedHead?: string;
  /**
   * Report every break, not only the first: after a break the check resumes from the record
   * that broke (an edited record still links on; after a gap or a move the chain continues from
   * that record; after a torn line or a missing file, from the next record).
   */
  all?: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;

interface Parsed {
  v: 1;
  prevHash: string;
  hash: string;
  event: unknown;
}

function parse(line: string): Parsed | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'is not valid JSON (torn write or manual edit)';
  }
  const r = value as Partial<Parsed> | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'is not a chain record';
  if (r.v !== 1) return 'has an unknown record version';
  if (typeof r.prevHash !== 'string' || !HEX64.test(r.prevHash)) return 'has no valid prevHash';
  if (typeof r.hash !== 'string' || !HEX64.test(r.hash)) return 'has no valid hash';
  if (typeof r.event !== 'object' || r.event === null) return 'has no event';
  return r as Parsed;
}

async function* linesOf(file: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
  }
}

/** Where the record with `hash` is, in file order. */
async function locate(
  files: readonly string[],
  hash: string,
): Promise<{ fileIndex: number; line: number } | undefined> {
  for (let f = 0; f < files.length; f++) {
    let n = 0;
    try {
      for await (const line of linesOf(files[f]!)) {
        n++;
        if (!line.includes(hash)) continue;
        const r = parse(line);
        if (typeof r !== 'string' && r.hash === hash) return { fileIndex: f, line: n };
      }
    } catch {
      // unreadable file: nothing to find there
    }
  }
  return undefined;
}

const short = (hash: string) => hash.slice(0, 12);

/**
 * Verifies a hash-chained audit log (files oldest first, as `chainFiles(path)` lists them) and
 * reports the first broken or missing link: an edited record (its hash no longer matches),
 * a deleted record (the next record links to a hash found nowhere), reordered records (a record
 * links to one found elsewhere), a torn or foreign line, a missing file, or a truncated end
 * (with `expectedHead`).
 *
 * @example
 * ```ts
 * import { chainFiles, formatChainReport, verifyChain } from '@mcp-harden/audit';
 * const report = await verifyChain(chainFiles('/var/log/mcp/audit.log'));
 * console.log(formatChainReport(report));
 * process.exitCode = report.ok ? 0 : 1;
 * ```
 */
export async function verifyChain(
  files: readonly string[],
  options: VerifyChainOptions = {},
): Promise<ChainReport> {
  if (!Array.isArray(files)) throw new TypeError('verifyChain: files must be an array of paths');
  const start = options.startHash ?? GENESIS_HASH;
  if (!HEX64.test(start)) throw new TypeError('verifyChain: startHash must be 64 hex characters');
  let prev = start;
  let prevAt: { file: string; line: number } | undefined;
  let records = 0;
  const breaks: ChainBreak[] = [];
  // After a torn line or a missing file the next record's link cannot be checked: take it as given.
  let resync = false;
  const report: ChainReport = { ok: true, records: 0, files: [], head: start };
  const fail = (b: ChainBreak): ChainReport => {
    report.ok = false;
    report.records = records;
    report.head = prev;
    report.break = breaks[0] ?? b;
    if (options.all) report.breaks = [...breaks, ...(breaks.includes(b) ? [] : [b])];
    return report;
  };
  /** Records a break; true when verification stops here (the default, first-break mode). */
  const broken = (b: ChainBreak): boolean => {
    const last = breaks[breaks.length - 1];
    // One move shows as several consecutive misplaced links: report it once.
    const sameMove =
      b.kind === 'reordered' && last?.kind === 'reordered' && last.file === b.file && b.line - last.line <= 2;
    if (!sameMove) breaks.push(b);
    return !options.all;
  };

  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    const entry = { path: file, records: 0 };
    report.files.push(entry);
    try {
      await access(file);
    } catch {
      const b: ChainBreak = {
        kind: 'missing_file',
        file,
        line: 0,
        reason: `${file} is missing or unreadable`,
      };
      if (broken(b)) return fail(b);
      resync = true;
      continue;
    }
    let n = 0;
    for await (const line of linesOf(file)) {
      n++;
      const at = `line ${n} of ${file}`;
      const r = parse(line);
      if (typeof r === 'string') {
        const b: ChainBreak = { kind: 'malformed', file, line: n, reason: `${at} ${r}` };
        if (broken(b)) return fail(b);
        resync = true;
        continue;
      }
      const actual = chainHash(r.prevHash, r.event);
      if (actual !== r.hash) {
        const b: ChainBreak = {
          kind: 'hash_mismatch',
          file,
          line: n,
          reason: `${at} was modified: its content hashes to ${short(actual)}…, not its recorded hash ${short(r.hash)}…`,
          expected: r.hash,
          actual,
        };
        if (broken(b)) return fail(b);
        // The edited record still carries its links: the chain goes on from it.
        prev = r.hash;
        prevAt = { file, line: n };
        resync = false;
        continue;
      }
      if (r.prevHash !== prev && !resync) {
        const found = await locate(files, r.prevHash);
        const previous = prevAt ? `line ${prevAt.line} of ${prevAt.file}` : 'the start of the chain';
        if (found === undefined) {
          const b: ChainBreak = {
            kind: 'missing_record',
            file,
            line: n,
            reason: `record(s) missing between ${previous} and ${at}: it links to ${short(r.prevHash)}…, which is in no file (deleted)`,
            expected: prev,
            actual: r.prevHash,
          };
          if (broken(b)) return fail(b);
        } else {
          const b: ChainBreak = {
            kind: 'reordered',
            file,
            line: n,
            reason: `${at} links to line ${found.line} of ${files[found.fileIndex]}, not to ${previous}: records were reordered or inserted`,
            expected: prev,
            actual: r.prevHash,
          };
          if (broken(b)) return fail(b);
        }
        // Resume from this record.
        prev = r.hash;
        prevAt = { file, line: n };
        continue;
      }
      resync = false;
      prev = r.hash;
      prevAt = { file, line: n };
      records++;
      entry.records++;
    }
  }
  if (options.expectedHead !== undefined && options.expectedHead !== prev) {
    const last = files[files.length - 1] ?? '';
    const b: ChainBreak = {
      kind: 'head_mismatch',
      file: last,
      line: prevAt && prevAt.file === last ? prevAt.line : 0,
      reason: `the chain ends at ${short(prev)}…, not at the expected head ${short(options.expectedHead)}…: records were removed from the end`,
      expected: options.expectedHead,
      actual: prev,
    };
    broken(b);
    return fail(b);
  }
  if (breaks.length > 0) return fail(breaks[0]!);
  report.records = records;
  report.head = prev;
  return report;
}

/**
 * Renders a {@link ChainReport} as short text for terminals (`mcp-harden audit verify`).
 *
 * @example
 * ```ts
 * console.log(formatChainReport(await verifyChain(['audit.log'])));
 * // OK: 120 records in 1 file, chain intact (head 3f2a…)
 * ```
 */
export function formatChainReport(report: ChainReport): string {
  const files = `${report.files.length} file${report.files.length === 1 ? '' : 's'}`;
  if (report.ok) {
    return `OK: ${report.records} records in ${files}, chain intact (head ${short(report.head)}…)`;
  }
  const list = report.breaks ?? [report.break!];
  const lines = list.flatMap((b) => [
    `BROKEN (${b.kind}) at ${b.file}${b.line > 0 ? `:${b.line}` : ''}`,
    `  ${b.reason}`,
  ]);
  lines.push(
    report.breaks
      ? `  ${report.records} records verified intact, ${report.breaks.length} break${report.breaks.length === 1 ? '' : 's'}`
      : `  ${report.records} records verified before the break`,
  );
  return lines.join('\n');
}
