import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { audit, type ChainRecord, type ChainReport, chainFiles, fileSink } from '@mcp-harden/audit';
import { compose, createContext } from '@mcp-harden/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, type BinRun, runBin } from './bin.js';

let root: string;
let n = 0;
beforeAll(() => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'mcp-harden-cli-audit-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh directory with `logs/audit.log` written by the real audit middleware and fileSink. */
async function writeLog(count: number, rotate?: { maxBytes: number }): Promise<{ dir: string; log: string }> {
  const dir = join(root, `case-${++n}`);
  mkdirSync(dir);
  const log = join(dir, 'logs', 'audit.log');
  const trail = audit({
    sinks: [fileSink({ path: log, fsync: false, ...(rotate ? { rotate } : {}) })],
    spillDir: join(dir, 'spill'),
    batchSize: 7,
  });
  const chain = compose([trail]);
  for (let i = 0; i < count; i++) {
    const ctx = createContext({
      method: 'tools/call',
      params: { name: 'notes.write', arguments: { i, body: `note ${i}` } },
      requestId: i,
    });
    await chain(ctx, async () => ({ content: [{ type: 'text', text: 'saved' }] }));
  }
  await trail.close();
  return { dir, log };
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const setLines = (file: string, content: string[]) => writeFileSync(file, `${content.join('\n')}\n`);
const report = (run: BinRun) => JSON.parse(run.stdout) as ChainReport;
const verify = (dir: string, ...args: string[]) => runBin(['audit', 'verify', ...args], dir);

describe('mcp-harden audit verify', () => {
  it('exits 0 on an intact chain written by audit() and fileSink', async () => {
    const { dir } = await writeLog(12);
    const run = await verify(dir, 'logs/audit.log');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^OK: 12 records in 1 file, chain intact \(head [0-9a-f]{12}…\)\n$/);
    const json = await verify(dir, 'logs/audit.log', '--json');
    expect(json.code).toBe(0);
    const head = (JSON.parse(lines(join(dir, 'logs/audit.log')).at(-1)!) as ChainRecord).hash;
    expect(report(json)).toEqual({
      ok: true,
      records: 12,
      files: [{ path: 'logs/audit.log', records: 12 }],
      head,
    });
  });

  it('names an edited record by file and line (exit 1)', async () => {
    const { dir, log } = await writeLog(10);
    const content = lines(log);
    const record = JSON.parse(content[4]!) as ChainRecord;
    record.event.outcome = { status: 'error', code: 'ERR_FORBIDDEN' };
    content[4] = JSON.stringify(record);
    setLines(log, content);
    const run = await verify(dir, 'logs/audit.log');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('BROKEN (hash_mismatch) at logs/audit.log:5\n');
    expect(run.stdout).toContain('line 5 of logs/audit.log was modified');
    expect(run.stdout).toContain('9 records verified intact, 1 break');
    const json = await verify(dir, 'logs/audit.log', '--json');
    expect(json.code).toBe(1);
    expect(report(json)).toMatchObject({
      ok: false,
      records: 9,
      break: { kind: 'hash_mismatch', file: 'logs/audit.log', line: 5, expected: record.hash },
    });
  });

  it('names a deleted record by the file and line of the record after the gap (exit 1)', async () => {
    const { dir, log } = await writeLog(10);
    const content = lines(log);
    content.splice(6, 1);
    setLines(log, content);
    const run = await verify(dir, 'logs/audit.log');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('BROKEN (missing_record) at logs/audit.log:7\n');
    expect(run.stdout).toContain(
      'record(s) missing between line 6 of logs/audit.log and line 7 of logs/audit.log',
    );
    expect(run.stdout).toContain('deleted');
    expect(report(await verify(dir, 'logs/audit.log', '--json'))).toMatchObject({
      ok: false,
      records: 8,
      break: { kind: 'missing_record', file: 'logs/audit.log', line: 7 },
    });
  });

  it('names reordered records by file and line (exit 1)', async () => {
    const { dir, log } = await writeLog(10);
    const content = lines(log);
    [content[2], content[3]] = [content[3]!, content[2]!];
    setLines(log, content);
    const run = await verify(dir, 'logs/audit.log');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('BROKEN (reordered) at logs/audit.log:3\n');
    expect(run.stdout).toContain(
      'line 3 of logs/audit.log links to line 4 of logs/audit.log, not to line 2 of logs/audit.log',
    );
    expect(report(await verify(dir, 'logs/audit.log', '--json'))).toMatchObject({
      ok: false,
      records: 7,
      break: { kind: 'reordered', file: 'logs/audit.log', line: 3 },
      breaks: [{ kind: 'reordered', line: 3 }],
    });
  });

  it('names each of an edited, a deleted and a reordered record in one log, in one run (exit 1)', async () => {
    const { dir, log } = await writeLog(20);
    const content = lines(log);
    const record = JSON.parse(content[4]!) as ChainRecord;
    record.event.target = 'forged';
    content[4] = JSON.stringify(record);
    [content[15], content[16]] = [content[16]!, content[15]!];
    content.splice(10, 1);
    setLines(log, content);
    const run = await verify(dir, 'logs/audit.log');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('BROKEN (hash_mismatch) at logs/audit.log:5\n');
    expect(run.stdout).toContain('BROKEN (missing_record) at logs/audit.log:11\n');
    expect(run.stdout).toContain('BROKEN (reordered) at logs/audit.log:15\n');
    expect(run.stdout).toContain('3 breaks');
    const json = report(await verify(dir, 'logs/audit.log', '--json')) as { breaks: Array<{ kind: string }> };
    expect(json.breaks.map((b) => b.kind)).toEqual(['hash_mismatch', 'missing_record', 'reordered']);
  });

  describe('a rotated chain over several files', () => {
    let dir: string;
    let files: string[];
    beforeAll(async () => {
      ({ dir } = await writeLog(60, { maxBytes: 4_000 }));
      files = chainFiles(join(dir, 'logs/audit.log')).map((f) => f.slice(dir.length + 1));
      expect(files.length).toBeGreaterThanOrEqual(3);
    });

    it('verifies the whole set from the active file or the first rotated file', async () => {
      for (const arg of ['logs/audit.log', 'logs/audit.log.1']) {
        const run = await verify(dir, arg, '--json');
        expect(run.code, arg).toBe(0);
        const r = report(run);
        expect(r).toMatchObject({ ok: true, records: 60 });
        expect(r.files.map((f) => f.path)).toEqual(files);
        expect(r.files.every((f) => f.records > 0)).toBe(true);
      }
      const text = await verify(dir, ...files);
      expect(text.stdout).toMatch(new RegExp(`^OK: 60 records in ${files.length} files, chain intact`));
    });

    it('names an edited record in a rotated file', async () => {
      const second = join(dir, files[1]!);
      const original = lines(second);
      const edited = [...original];
      const record = JSON.parse(edited[1]!) as ChainRecord;
      record.event.target = 'admin.purge';
      edited[1] = JSON.stringify(record);
      setLines(second, edited);
      try {
        const run = await verify(dir, 'logs/audit.log');
        expect(run.code).toBe(1);
        expect(run.stdout).toContain(`BROKEN (hash_mismatch) at ${files[1]}:2\n`);
      } finally {
        setLines(second, original);
      }
    });

    it('names a rotated file that is gone by the first line of the next one', async () => {
      const middle = join(dir, files[1]!);
      renameSync(middle, `${middle}.bak`);
      try {
        const run = await verify(dir, 'logs/audit.log', '--json');
        expect(run.code).toBe(1);
        const r = report(run);
        expect(r.break).toMatchObject({ kind: 'missing_record', file: files[2], line: 1 });
        expect(r.break!.reason).toContain(`line 1 of ${files[2]}`);
        expect(r.break!.reason).toContain('deleted');
      } finally {
        renameSync(`${middle}.bak`, middle);
      }
      expect((await verify(dir, 'logs/audit.log')).code).toBe(0);
    });

    it('verifies the files left after archiving from --start-hash', async () => {
      const rest = files.slice(1);
      const before = (JSON.parse(lines(join(dir, files[0]!)).at(-1)!) as ChainRecord).hash;
      const without = await verify(dir, ...rest);
      expect(without.code).toBe(1);
      expect(without.stdout).toContain(`BROKEN (missing_record) at ${rest[0]}:1`);
      const run = await verify(dir, ...rest, '--start-hash', before, '--json');
      expect(run.code).toBe(0);
      expect(report(run)).toMatchObject({ ok: true, records: 60 - lines(join(dir, files[0]!)).length });
    });
  });

  it('detects a cut end against --expected-head', async () => {
    const { dir, log } = await writeLog(6);
    const head = (JSON.parse(lines(log).at(-1)!) as ChainRecord).hash;
    expect((await verify(dir, 'logs/audit.log', '--expected-head', head)).code).toBe(0);
    setLines(log, lines(log).slice(0, 4));
    const run = await verify(dir, 'logs/audit.log', '--expected-head', head);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('BROKEN (head_mismatch) at logs/audit.log:4');
    expect(run.stdout).toContain('records were removed from the end');
  });

  it('reports a torn line inside a log as a break, not as a usage error', async () => {
    const { dir, log } = await writeLog(5);
    setLines(log, [...lines(log).slice(0, 2), '{"v":1,"prev', ...lines(log).slice(2)]);
    const run = await verify(dir, 'logs/audit.log');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('BROKEN (malformed) at logs/audit.log:3');
  });

  describe('usage and input errors exit 2 without a stack', () => {
    it.each([
      [['audit', 'verify'], /missing <file>/],
      [['audit', 'verify', 'nowhere.log'], /audit log not found: nowhere\.log/],
      [['audit', 'verify', 'notes.txt'], /not a hash-chained audit log: notes\.txt/],
      [['audit', 'verify', 'events.jsonl'], /not a hash-chained audit log: events\.jsonl/],
      [['audit', 'verify', 'sub'], /not a file: sub/],
      [['audit', 'verify', 'notes.txt', '--expected-head', 'abc'], /--expected-head must be a SHA-256 hash/],
      [
        ['audit', 'verify', 'notes.txt', '--start-hash', 'Z'.repeat(64)],
        /--start-hash must be a SHA-256 hash/,
      ],
      [['audit', 'verify', 'notes.txt', '--frobnicate'], /Unknown option '--frobnicate'/],
    ])('%j', async (args, message) => {
      const dir = join(root, 'inputs');
      mkdirSync(join(dir, 'sub'), { recursive: true });
      writeFileSync(join(dir, 'notes.txt'), 'hello\nworld\n');
      // stdoutSink's JSON lines are audit events without a chain.
      writeFileSync(join(dir, 'events.jsonl'), `${JSON.stringify({ v: 1, method: 'tools/call' })}\n`);
      const run = await runBin(args, dir);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });

    it('prints the error as JSON with --json', async () => {
      const run = await runBin(['audit', 'verify', 'nowhere.log', '--json'], root);
      expect(run.code).toBe(2);
      expect(JSON.parse(run.stdout)).toEqual({
        ok: false,
        error: { code: 'USAGE', message: 'audit log not found: nowhere.log' },
      });
    });
  });
});
