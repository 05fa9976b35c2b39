import { appendFileSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compose, createContext } from '@mcp-harden/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  audit,
  type ChainRecord,
  canonicalJson,
  chainFiles,
  chainHash,
  fileSink,
  formatChainReport,
  GENESIS_HASH,
  verifyChain,
} from '../src/index.js';
import { tempDir } from './helpers.js';

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}
function setLines(file: string, content: string[]): void {
  writeFileSync(file, `${content.join('\n')}\n`);
}

/** Writes `count` real audit events through audit() + fileSink. */
async function writeLog(path: string, spillDir: string, count: number, rotate?: { maxBytes: number }) {
  const trail = audit({ sinks: [fileSink({ path, rotate, fsync: false })], spillDir, batchSize: 7 });
  const chain = compose([trail]);
  for (let i = 0; i < count; i++) {
    const ctx = createContext({
      method: 'tools/call',
      params: { name: 'note', arguments: { i } },
      requestId: i,
    });
    await chain(ctx, async () => ({ content: [] }));
  }
  await trail.close();
}

describe('fileSink() and verifyChain()', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  function dir() {
    const t = tempDir('chain');
    cleanups.push(t.remove);
    return { log: join(t.dir, 'logs', 'audit.log'), spill: join(t.dir, 'spill') };
  }

  it('writes a chain where each record links to the previous one', async () => {
    const { log, spill } = dir();
    await writeLog(log, spill, 10);
    const records = lines(log).map((l) => JSON.parse(l) as ChainRecord);
    expect(records).toHaveLength(10);
    expect(records[0]!.prevHash).toBe(GENESIS_HASH);
    records.forEach((r, i) => {
      expect(r.hash).toBe(chainHash(r.prevHash, r.event));
      if (i > 0) expect(r.prevHash).toBe(records[i - 1]!.hash);
      expect(r.event.requestId).toBe(i);
    });
    expect(statSync(log).mode & 0o777).toBe(0o600);
    const report = await verifyChain([log]);
    expect(report).toMatchObject({ ok: true, records: 10, head: records[9]!.hash });
    expect(formatChainReport(report)).toMatch(/^OK: 10 records in 1 file, chain intact/);
  });

  it('writes every record as the canonical JSON of { v, prevHash, hash, event }, byte for byte', async () => {
    const { log } = dir();
    const sink = fileSink({ path: log, fsync: false });
    const base = {
      schemaVersion: 1,
      time: '2026-01-01T00:00:00.000Z',
      method: 'tools/call',
      targetKind: 'tool',
      principal: null,
      decision: { result: 'allowed', by: null, code: null },
      outcome: { status: 'ok', code: null },
      latencyMs: 1.5,
      argumentsDigest: null,
      sessionId: null,
      traceId: null,
      spanId: null,
      transport: 'memory',
    };
    // Keys out of order, escapes, astral and lone surrogates, nested arrays: the line must still
    // be canonical, and rotation bookkeeping must count its UTF-8 bytes, not its UTF-16 length.
    const events = [
      {
        ...base,
        id: 'e1',
        target: 'quote " back \\ nl \n',
        requestId: 1,
        arguments: { z: 1, a: [{ y: 'é', b: null }] },
      },
      {
        ...base,
        id: 'e2',
        target: '\u{1F600} \ud800 \u2028',
        requestId: 'r-2',
        redactions: { email: 2, aws: 1 },
      },
      { ...base, id: 'e3', target: 'plain', requestId: 3 },
      // Replayed from an older or foreign spill file: keys the schema does not know, numeric keys.
      { ...base, id: 'e4', requestId: 4, zeta: { 10: 'a', 9: 'b' }, Alpha: [1, undefined, -0, 1e21] },
    ] as unknown as AuditEvent[];
    await sink.write(events);
    await sink.close?.();
    const written = lines(log);
    expect(written).toHaveLength(4);
    let prevHash = GENESIS_HASH;
    written.forEach((line, i) => {
      const hash = chainHash(prevHash, events[i]);
      expect(line).toBe(canonicalJson({ v: 1, prevHash, hash, event: events[i] }));
      prevHash = hash;
    });
    expect(statSync(log).size).toBe(Buffer.byteLength(`${written.join('\n')}\n`));
  });

  it('names an edited record: hash mismatch at its line', async () => {
    const { log, spill } = dir();
    await writeLog(log, spill, 10);
    const content = lines(log);
    const record = JSON.parse(content[4]!) as ChainRecord;
    record.event.outcome = { status: 'error', code: 'ERR_FORBIDDEN' };
    content[4] = JSON.stringify(record);
    setLines(log, content);
    const report = await verifyChain([log]);
    expect(report.ok).toBe(false);
    expect(report.records).toBe(4);
    expect(report.break).toMatchObject({ kind: 'hash_mismatch', file: log, line: 5 });
    expect(report.break!.reason).toContain(`line 5 of ${log} was modified`);
    expect(formatChainReport(report)).toContain(`BROKEN (hash_mismatch) at ${log}:5`);
  });

  it('names a deleted record: the next record links to a hash found nowhere', async () => {
    const { log, spill } = dir();
    await writeLog(log, spill, 10);
    const content = lines(log);
    content.splice(6, 1);
    setLines(log, content);
    const report = await verifyChain([log]);
    expect(report.break).toMatchObject({ kind: 'missing_record', file: log, line: 7 });
    expect(report.break!.reason).toContain(`between line 6 of ${log} and line 7 of ${log}`);
    expect(report.break!.reason).toContain('deleted');
  });

  it('names a deleted first record', async () => {
    const { log, spill } = dir();
    await writeLog(log, spill, 3);
    setLines(log, lines(log).slice(1));
    const report = await verifyChain([log]);
    expect(report.break).toMatchObject({ kind: 'missing_record', line: 1 });
    expect(report.break!.reason).toContain('the start of the chain');
  });

  it('names reordered records', async () => {
    const { log, spill } = dir();
    await writeLog(log, spill, 10);
    const content = lines(log);
    [content[2], content[3]] = [content[3]!, content[2]!];
    setLines(log, content);
    const report = await verifyChain([log]);
    expect(report.break).toMatchObject({ kind: 'reordered', file: log, line: 3 });
    expect(report.break!.reason).toBe(
      `line 3 of ${log} links to line 4 of ${log}, not to line 2 of ${log}: records were reordered or inserted`,
    );
  });

  it('names every break of one log with an edited, a deleted and a reordered record (all: true)', async () => {
    const { log, spill } = dir();
    await writeLog(log, spill, 20);
    const content = lines(log);
    const edited = JSON.parse(content[4]!) as ChainRecord;
    edited.event.outcome = { status: 'ok', code: null };
    edited.event.target = 'forged';
    content[4] = JSON.stringify(edited);
    [content[15], content[16]] = [content[16]!, content[15]!];
    content.splice(10, 1);
    setLines(log, content);
    const first = await verifyChain([log]);
    expect(first.break).toMatchObject({ kind: 'hash_mismatch', line: 5 });
    expect(first.breaks).toBeUndefined();
    const report = await verifyChain([log], { all: true });
    expect(report.ok).toBe(false);
    expect(report.breaks?.map((b) => [b.kind, b.line])).toEqual([
      ['hash_mismatch', 5],
      ['missing_record', 11],
      ['reordered', 15],
    ]);
    expect(report.break).toEqual(report.breaks![0]);
    const text = formatChainReport(report);
    for (const line of [5, 11, 15]) expect(text).toContain(`${log}:${line}`);
  });

  it('reports an intact log as ok with all: true', async () => {
    const { log, spill } = dir();
    await writeLog(log, spill, 5);
    const report = await verifyChain([log], { all: true });
    expect(report).toMatchObject({ ok: true, records: 5 });
    expect(report.breaks).toBeUndefined();
  });

  it('names a torn or foreign line and a truncated end', async () => {
    const { log, spill } = dir();
    await writeLog(log, spill, 5);
    const head = (JSON.parse(lines(log)[4]!) as ChainRecord).hash;
    const intact = lines(log);
    setLines(log, intact.slice(0, 4));
    const truncated = await verifyChain([log], { expectedHead: head });
    expect(truncated.break).toMatchObject({ kind: 'head_mismatch', line: 4 });
    setLines(log, [...intact.slice(0, 2), '{"v":1,"prev', ...intact.slice(2)]);
    expect((await verifyChain([log])).break).toMatchObject({ kind: 'malformed', line: 3 });
    expect((await verifyChain([join(log, 'nope')])).break).toMatchObject({ kind: 'missing_file', line: 0 });
  });

  it('keeps the chain across rotated files and names a missing file', async () => {
    const { log, spill } = dir();
    await writeLog(log, spill, 60, { maxBytes: 4_000 });
    const files = chainFiles(log);
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(files[files.length - 1]).toBe(log);
    expect(files[0]).toBe(`${log}.1`);
    for (const f of files) expect(statSync(f).size).toBeLessThanOrEqual(4_000);
    const first = lines(files[0]!);
    const second = lines(files[1]!);
    expect((JSON.parse(second[0]!) as ChainRecord).prevHash).toBe(
      (JSON.parse(first.at(-1)!) as ChainRecord).hash,
    );
    const report = await verifyChain(files);
    expect(report).toMatchObject({ ok: true, records: 60 });
    expect(report.files.reduce((n, f) => n + f.records, 0)).toBe(60);
    // Remove a whole middle file: the next file's first record names the gap.
    const removed = files[1]!;
    renameSync(removed, `${removed}.bak`);
    const withoutMiddle = files.filter((f) => f !== removed);
    const broken = await verifyChain(withoutMiddle);
    expect(broken.break).toMatchObject({ kind: 'missing_record', file: files[2], line: 1 });
    expect(broken.break!.reason).toContain(`line ${first.length} of ${files[0]}`);
  });

  it('continues the chain after a restart and after a torn last line', async () => {
    const { log, spill } = dir();
    await writeLog(log, spill, 4);
    await writeLog(log, spill, 3);
    expect(await verifyChain([log])).toMatchObject({ ok: true, records: 7 });
    appendFileSync(log, '{"v":1,"prevHash":"ab'); // a crash mid-write
    await writeLog(log, spill, 2);
    const content = lines(log);
    expect(content).toHaveLength(10);
    expect((JSON.parse(content[8]!) as ChainRecord).prevHash).toBe(
      (JSON.parse(content[6]!) as ChainRecord).hash,
    );
    // The torn line is reported, and the records after it chain to the last good record.
    expect((await verifyChain([log])).break).toMatchObject({ kind: 'malformed', line: 8 });
    setLines(log, [...content.slice(0, 7), ...content.slice(8)]);
    expect(await verifyChain([log])).toMatchObject({ ok: true, records: 9 });
  });

  it('exposes the head for anchoring', async () => {
    const { log } = dir();
    const sink = fileSink({ path: log, fsync: false });
    expect(await sink.head()).toBe(GENESIS_HASH);
    const event = { id: '1', requestId: 1 } as unknown as AuditEvent;
    await sink.write([event]);
    await sink.close!();
    expect(await sink.head()).toBe(chainHash(GENESIS_HASH, event));
    expect(() => fileSink({ path: '' })).toThrow(TypeError);
    expect(() => fileSink({ path: log, rotate: { maxBytes: 0 } })).toThrow(TypeError);
  });
});
