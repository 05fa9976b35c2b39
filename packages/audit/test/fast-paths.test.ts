// The fast paths (event serializer, ISO time, argument digests) must produce exactly what the
// general code produces, for every input: these tests compare them on many generated values.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compose, createContext, HardenError } from '@mcp-harden/core';
import { seededRandom } from '@mcp-harden/test-services';
import { describe, expect, it, vi } from 'vitest';
import { eventCanonicalJson, canonicalJson as generalCanonicalJson, quoteJson } from '../src/canonical.js';
import { isoTime } from '../src/event.js';
import {
  type AuditEvent,
  argumentsDigest,
  audit,
  type ChainRecord,
  canonicalJson,
  chainFiles,
  chainHash,
  fileSink,
  GENESIS_HASH,
  verifyChain,
} from '../src/index.js';
import { MemorySink, tempDir } from './helpers.js';

const STRINGS = [
  '',
  'plain',
  'quote " back \\ slash / nl \n tab \t cr \r',
  'ctrl \u0000 \u0001 \u001f \u007f',
  'é ü ß 中文 العربية',
  '\u{1F600} astral',
  'lone \ud800 high',
  'lone \udc00 low',
  'reversed \udc00\ud800',
  'separators \u2028 \u2029',
  'bom \ufeff',
  'x'.repeat(300),
  'ERR_FORBIDDEN',
  'tools/call',
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  1.5,
  0.1,
  123.456,
  1e21,
  1e-7,
  -1e-7,
  2 ** 53,
  Number.MAX_VALUE,
  Number.NaN,
  Infinity,
  -Infinity,
];

function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)]!;
}
function shuffled<T>(r: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
/** An object with `entries` inserted in random order. */
function objectOf(r: () => number, entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of shuffled(r, entries)) out[key] = value;
  return out;
}

/** Any JSON-ish value, including what canonicalJson treats specially. */
function anyValue(r: () => number, depth = 0): unknown {
  const kind = Math.floor(r() * (depth > 2 ? 7 : 12));
  switch (kind) {
    case 0:
      return pick(r, STRINGS);
    case 1:
      return pick(r, NUMBERS);
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return undefined;
    case 5:
      return 10n ** BigInt(Math.floor(r() * 30));
    case 6:
      return pick(r, [() => 1, Symbol('s')]);
    case 7:
      return Array.from({ length: Math.floor(r() * 4) }, () => anyValue(r, depth + 1));
    case 8:
      return new Date(Math.floor(r() * 4e12));
    case 9: {
      const replacement = anyValue(r, depth + 1);
      return { toJSON: () => replacement };
    }
    default: {
      const keys = ['a', 'b', 'Z', '10', '9', 'é', '\u{1F600}', 'code', 'subject', 'tenant', 'x y'];
      return objectOf(
        r,
        shuffled(r, keys)
          .slice(0, Math.floor(r() * 5))
          .map((k) => [k, anyValue(r, depth + 1)]),
      );
    }
  }
}

/** A value of the expected type most of the time, sometimes anything at all. */
function usually(r: () => number, expected: () => unknown): unknown {
  return r() < 0.85 ? expected() : anyValue(r, 1);
}

function maybeString(r: () => number): string | null {
  return r() < 0.3 ? null : pick(r, STRINGS);
}

/** A fixed-shape member: its keys (each present or not), in random order, sometimes with an extra key. */
function shaped(r: () => number, members: Record<string, () => unknown>): unknown {
  if (r() < 0.05) return anyValue(r, 1);
  const entries: [string, unknown][] = [];
  for (const [key, make] of Object.entries(members)) {
    if (r() < 0.85) entries.push([key, usually(r, make)]);
  }
  if (r() < 0.08) entries.push([pick(r, ['extra', 'Subject', 'v', 'id']), anyValue(r, 1)]);
  const out = objectOf(r, entries);
  if (r() < 0.03) Object.defineProperty(out, 'hidden', { value: 'not enumerable', enumerable: false });
  if (r() < 0.03) (out as Record<symbol, unknown>)[Symbol('sym')] = 'symbol keys are not written';
  return out;
}

/** A varied audit event: every optional key present or absent, keys in any order, odd values. */
function anyEvent(r: () => number): Record<string, unknown> {
  const members: Record<string, () => unknown> = {
    schemaVersion: () => 1,
    id: () => `e-${Math.floor(r() * 1e9)}`,
    time: () => new Date(Math.floor(r() * 4e12)).toISOString(),
    method: () => pick(r, ['tools/call', 'resources/read', 'prompts/get', 'tools/list', 'unknown']),
    target: () => maybeString(r),
    targetKind: () => pick(r, ['tool', 'resource', 'prompt', null]),
    principal: () =>
      r() < 0.2
        ? null
        : shaped(r, {
            subject: () => pick(r, STRINGS),
            clientId: () => maybeString(r),
            tenant: () => maybeString(r),
            authMethod: () => maybeString(r),
          }),
    decision: () =>
      shaped(r, {
        result: () => pick(r, ['allowed', 'denied']),
        by: () => maybeString(r),
        code: () => maybeString(r),
      }),
    outcome: () =>
      shaped(r, { status: () => pick(r, ['ok', 'tool_error', 'error']), code: () => maybeString(r) }),
    latencyMs: () => pick(r, NUMBERS),
    argumentsDigest: () => (r() < 0.3 ? null : `sha256:${'ab'.repeat(32)}`),
    sessionId: () => maybeString(r),
    requestId: () => (r() < 0.5 ? Math.floor(r() * 1e6) : r() < 0.5 ? pick(r, STRINGS) : null),
    traceId: () => maybeString(r),
    spanId: () => maybeString(r),
    transport: () => pick(r, ['http', 'stdio', 'memory']),
  };
  const optional: Record<string, () => unknown> = {
    arguments: () => anyValue(r),
    redactions: () =>
      objectOf(r, [
        ['email', 3],
        ['aws-access-key', 1],
        ['github-token', Math.floor(r() * 9)],
      ]),
    injection: () =>
      shaped(r, {
        flagged: () => r() < 0.5,
        patterns: () => (r() < 0.8 ? shuffled(r, STRINGS).slice(0, Math.floor(r() * 4)) : [1, null, 'x']),
      }),
    authorization: () =>
      shaped(r, {
        allowed: () => r() < 0.5,
        rule: () => pick(r, STRINGS),
        reason: () => pick(r, STRINGS),
        requiredScopes: () => shuffled(r, ['notes:read', 'notes:write', 'é']).slice(0, Math.floor(r() * 3)),
      }),
    rateLimit: () =>
      shaped(r, {
        level: () => pick(r, ['principal', 'global', 'principal+tool']),
        refused: () => r() < 0.5,
        remainingPoints: () => pick(r, NUMBERS),
        retryAfterMs: () => pick(r, NUMBERS),
      }),
    deprecation: () =>
      shaped(r, {
        tool: () => pick(r, STRINGS),
        version: () => pick(r, ['1', '2.0']),
        sunset: () => '2027-01-01',
        replacement: () => pick(r, STRINGS),
      }),
  };
  const entries: [string, unknown][] = [];
  for (const [key, make] of Object.entries(members)) {
    if (r() < 0.97) entries.push([key, usually(r, make)]);
  }
  for (const [key, make] of Object.entries(optional)) {
    if (r() < 0.4) entries.push([key, make()]);
  }
  if (r() < 0.05) entries.push([pick(r, ['zeta', 'Alpha', 'v', 'hash', '0']), anyValue(r)]);
  return objectOf(r, entries);
}

describe('eventCanonicalJson()', () => {
  it('is the exported canonicalJson (the general path these tests compare against)', () => {
    expect(canonicalJson).toBe(generalCanonicalJson);
  });

  it('equals canonicalJson byte for byte on 20,000 varied events', () => {
    const r = seededRandom(11);
    for (let i = 0; i < 20_000; i++) {
      const event = anyEvent(r);
      const expected = canonicalJson(event);
      const actual = eventCanonicalJson(event);
      // expect() only on a mismatch: 20,000 assertions with messages dominated the run time.
      if (actual !== expected) expect(actual, expected).toBe(expected);
    }
  });

  it('equals canonicalJson for events built by audit(), refusals, errors and redacted arguments', async () => {
    const sink = new MemorySink();
    const trail = audit({ sinks: [sink], spillDir: tempDir('fast').dir, includeArguments: 'redacted' });
    const chain = compose([trail]);
    const r = seededRandom(5);
    for (let i = 0; i < 200; i++) {
      const ctx = createContext({
        method: 'tools/call',
        params: { name: pick(r, STRINGS) || 'tool', arguments: { password: 'x', q: pick(r, STRINGS), n: i } },
        requestId: i % 2 === 0 ? i : `r-${i}`,
        sessionId: i % 3 === 0 ? 'session' : undefined,
        principal:
          i % 4 === 0
            ? undefined
            : {
                subject: pick(r, STRINGS),
                scopes: ['a'],
                roles: [],
                claims: {},
                ...(i % 5 === 0 ? { tenant: 'acme', clientId: 'c', authMethod: 'jwt' } : {}),
              },
        request: { transport: 'http', headers: {} },
      });
      Object.assign(ctx.state, {
        trace: { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8) },
        redactions: i % 2 === 0 ? { email: i } : undefined,
        injection: i % 3 === 0 ? { flagged: true, patterns: ['ignore previous'] } : undefined,
        authorization: { allowed: i % 5 !== 0, rule: 'r', requiredScopes: i % 2 ? ['s'] : undefined },
        rateLimit: { level: 'principal', refused: false, remainingPoints: i },
        deprecation: i % 7 === 0 ? { tool: 't', version: '1', sunset: '2027-01-01' } : undefined,
      });
      await chain(ctx, async () => {
        if (i % 5 === 0) throw new HardenError('ERR_FORBIDDEN', 'no');
        if (i % 5 === 1) throw new Error('boom');
        return { content: [], isError: i % 5 === 2 };
      }).catch(() => {});
    }
    trail.onEarlyRefusal?.({
      error: new HardenError('ERR_UNAUTHENTICATED', 'no token'),
      source: 'http',
      method: 'tools/call',
      requestId: undefined,
      sessionId: 's-\u{1F600}',
      request: { transport: 'http', headers: {} },
    });
    await trail.close();
    expect(sink.events).toHaveLength(201);
    for (const event of sink.events) {
      expect(eventCanonicalJson(event)).toBe(canonicalJson(event));
      const parsed = JSON.parse(JSON.stringify(event)) as unknown; // as replayed from a spill file
      expect(eventCanonicalJson(parsed)).toBe(canonicalJson(parsed));
    }
  });

  it('handles what the general path handles specially: toJSON, arrays, inherited keys, non-objects', () => {
    const proto = { tenant: 'inherited', toString: () => 'x' };
    const principal = Object.assign(Object.create(proto) as object, { subject: 's', clientId: null });
    const nullProto = Object.assign(Object.create(null) as object, {
      result: 'allowed',
      by: null,
      code: null,
    });
    const values: unknown[] = [
      null,
      undefined,
      'text',
      42,
      [1, 2],
      { toJSON: () => ({ b: 1, a: 2 }) },
      { id: 'e', principal },
      { id: 'e', decision: nullProto },
      { id: 'e', principal: [{ subject: 's' }] },
      { id: 'e', principal: { subject: 's', toJSON: () => 'replaced' } },
      { id: 'e', outcome: new Date(0) },
      { id: 'e', outcome: { status: 'ok', code: { toJSON: () => 'ERR' } } },
      { id: 'e', injection: { flagged: true, patterns: [undefined, () => 1, 'x', 'y', ...new Array(1)] } },
      { id: 'e', rateLimit: { level: 'l', refused: true, retryAfterMs: Number.NaN, remainingPoints: -0 } },
      { id: 'e', principal: { subject: 's', clientId: undefined, tenant: () => 1, authMethod: Symbol('m') } },
      Object.assign(Object.create({ inherited: 1 }) as object, { id: 'e' }),
    ];
    for (const value of values) expect(eventCanonicalJson(value)).toBe(canonicalJson(value));
  });

  it('throws on a cyclic event as canonicalJson does', () => {
    const event: Record<string, unknown> = { id: 'e', arguments: { a: 1 } };
    (event.arguments as Record<string, unknown>).self = event;
    expect(() => canonicalJson(event)).toThrow('canonicalJson: cyclic value');
    expect(() => eventCanonicalJson(event)).toThrow('canonicalJson: cyclic value');
    const principal: Record<string, unknown> = { subject: 's' };
    principal.clientId = principal;
    expect(() => eventCanonicalJson({ id: 'e', principal })).toThrow('canonicalJson: cyclic value');
    const deep: Record<string, unknown> = { id: 'e' };
    deep.principal = { subject: { back: deep } };
    expect(() => eventCanonicalJson(deep)).toThrow('canonicalJson: cyclic value');
    // A shared (acyclic) reference is not a cycle.
    const shared = { result: 'allowed', by: null, code: null };
    const twice = { id: 'e', decision: shared, arguments: { a: shared, b: [shared] } };
    expect(eventCanonicalJson(twice)).toBe(canonicalJson(twice));
  });
});

describe('quoteJson()', () => {
  it('equals JSON.stringify for every UTF-16 code unit, alone and inside text, and for pairs', () => {
    for (let unit = 0; unit <= 0xffff; unit++) {
      const c = String.fromCharCode(unit);
      for (const text of [c, `a${c}`, `${c}z`, `ab${c}${c}cd`]) {
        const expected = JSON.stringify(text);
        // expect() only on a mismatch: 262,144 assertions would dominate the run time.
        if (quoteJson(text) !== expected) expect(quoteJson(text)).toBe(expected);
      }
    }
    for (const text of ['', '\u{1F600}', 'x\u{10FFFF}y', '\ud83d\ude00\ud83d', '\ude00\ud83d', ...STRINGS]) {
      expect(quoteJson(text)).toBe(JSON.stringify(text));
    }
  });
});

describe('isoTime()', () => {
  it('equals toISOString for integer milliseconds, in one second and across seconds', () => {
    const r = seededRandom(3);
    const values = [
      0, -0, 1, -1, 999, 1000, 1001, -999, -1000, -1001, 8.64e15, -8.64e15, 253402300799999, 253402300800000,
      -62167219200001,
    ];
    for (let i = 0; i < 20_000; i++) values.push(Math.floor((r() - 0.5) * 2 * 8.64e15));
    for (let i = 0; i < 5_000; i++) values.push(1_790_000_000_000 + i * 7); // consecutive, as Date.now() gives
    for (const ms of values) {
      const expected = new Date(ms).toISOString();
      if (isoTime(ms) !== expected) expect(isoTime(ms), String(ms)).toBe(expected);
    }
  });

  it('handles non-integer and invalid times as toISOString does', () => {
    for (const ms of [1.5, -1.5, 1e3 + 0.999, -0.1]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    for (const ms of [Number.NaN, Infinity, -Infinity, 8.64e15 + 1, -8.64e15 - 1]) {
      expect(() => new Date(ms).toISOString()).toThrow(RangeError);
      expect(() => isoTime(ms)).toThrow(RangeError);
    }
  });
});

describe('argumentsDigest()', () => {
  it('is sha256 over canonicalJson for varied arguments', () => {
    const r = seededRandom(9);
    for (let i = 0; i < 5_000; i++) {
      const args = anyValue(r);
      let text: string;
      try {
        text = canonicalJson(args);
      } catch (err) {
        expect(() => argumentsDigest(args)).toThrow((err as Error).message);
        continue;
      }
      expect(argumentsDigest(args)).toBe(`sha256:${createHash('sha256').update(text).digest('hex')}`);
    }
  });

  it('takes the flat-object path with the same text as canonicalJson (every primitive, odd keys)', () => {
    const r = seededRandom(17);
    const keys = [
      'text',
      'a',
      'B',
      '10',
      '9',
      '__proto__',
      'constructor',
      'é',
      '\u{1F600}',
      '',
      'a"b',
      'x\ny',
    ];
    const primitives = [...STRINGS, ...NUMBERS, true, false, null, undefined, 7n, () => 1, Symbol('s')];
    const digest = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
    for (let i = 0; i < 5_000; i++) {
      const entries = shuffled(r, keys)
        .slice(0, Math.floor(r() * 6))
        .map((k): [string, unknown] => [k, pick(r, primitives)]);
      const args = objectOf(r, entries);
      expect(argumentsDigest(args)).toBe(digest(canonicalJson(args)));
      // As parsed from a request: '__proto__' is then an own key.
      const parsed = JSON.parse(
        JSON.stringify(Object.fromEntries(entries.filter(([, v]) => typeof v !== 'bigint'))),
      );
      expect(argumentsDigest(parsed)).toBe(digest(canonicalJson(parsed)));
      // One nested member, an array or a toJSON: the general path.
      const nested = { ...args, n: pick(r, [{ b: 1, a: 2 }, [1, 'x'], new Date(0), { toJSON: () => 'j' }]) };
      expect(argumentsDigest(nested)).toBe(digest(canonicalJson(nested)));
    }
    expect(argumentsDigest({})).toBe(digest('{}'));
    expect(argumentsDigest({ toJSON: () => ({ b: 1, a: 1 }) })).toBe(digest('{"a":1,"b":1}'));
    expect(argumentsDigest([1, { b: 2, a: 1 }])).toBe(digest('[1,{"a":1,"b":2}]'));
  });
});

describe('fileSink() with the fast serializer', () => {
  it('writes varied events as canonical records that verifyChain accepts', async () => {
    const tmp = tempDir('fast-chain');
    try {
      const log = join(tmp.dir, 'audit.log');
      const sink = fileSink({ path: log, fsync: false, rotate: { maxBytes: 20_000 } });
      const r = seededRandom(21);
      const events: Record<string, unknown>[] = [];
      for (let i = 0; i < 300; i++) {
        const event = anyEvent(r);
        event.id = `e-${i}`; // the sink needs an id per event
        // Values the record line cannot carry faithfully (functions, bigint as a string) are still
        // canonical, but the verifier re-reads the JSON: keep the events JSON-round-trippable.
        events.push(JSON.parse(canonicalJson(event)) as Record<string, unknown>);
      }
      for (let i = 0; i < events.length; i += 50) {
        await sink.write(events.slice(i, i + 50) as unknown as AuditEvent[]);
      }
      await sink.close?.();
      const files = chainFiles(log);
      expect(files.length).toBeGreaterThan(1); // rotated: the byte counts of the fast path are used
      const all = files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
      expect(all).toHaveLength(events.length);
      let prevHash = GENESIS_HASH;
      for (const [i, line] of all.entries()) {
        const record = JSON.parse(line) as ChainRecord;
        expect(line).toBe(
          canonicalJson({ v: 1, prevHash, hash: chainHash(prevHash, events[i]), event: events[i] }),
        );
        prevHash = record.hash;
      }
      const report = await verifyChain(files);
      expect(report).toMatchObject({ ok: true, records: events.length, head: prevHash });
    } finally {
      tmp.remove();
    }
  });
});

/**
 * The straightforward file sink the batched writer must equal byte for byte: one record at a time,
 * `chainHash` and `canonicalJson` of the record, rotation when the next line would not fit.
 * Returns the content of every file, oldest first.
 */
function referenceChain(
  events: readonly Record<string, unknown>[],
  maxBytes: number,
  start: { prevHash: string; text: string },
): string[] {
  const files: string[] = [];
  let text = start.text;
  let prevHash = start.prevHash;
  for (const event of events) {
    const hash = chainHash(prevHash, event);
    const line = `${canonicalJson({ v: 1, prevHash, hash, event })}\n`;
    const size = Buffer.byteLength(text);
    if (size + Buffer.byteLength(line) > maxBytes && size > 0) {
      files.push(text);
      text = '';
    }
    text += line;
    prevHash = hash;
  }
  files.push(text);
  return files;
}

describe('fileSink() group commit', () => {
  it('writes batches of any size as the one-record-at-a-time chain, byte for byte, rotation and torn tail included', async () => {
    const r = seededRandom(77);
    const long = ['€'.repeat(3000), '\u{1F600}'.repeat(2000), 'ascii '.repeat(1500), 'é'.repeat(5000)];
    for (const [round, sizes] of [
      [1, 7, 300, 50, 2, 1000],
      [4096, 3],
      [13, 13, 13, 600],
    ].entries()) {
      const tmp = tempDir('group');
      try {
        const log = join(tmp.dir, 'audit.log');
        const total = sizes.reduce((a, b) => a + b, 0);
        const events: Record<string, unknown>[] = [];
        for (let i = 0; i < total; i++) {
          const event = anyEvent(r);
          event.id = `e-${round}-${i}`;
          // Now and then a record far longer than the ones before it, so the batch buffer has to grow.
          if (r() < 0.02) event.target = pick(r, long);
          events.push(JSON.parse(canonicalJson(event)) as Record<string, unknown>);
        }
        // The previous process left a record and a torn line (no newline): the sink starts on a new line.
        const first = `${canonicalJson({ v: 1, prevHash: GENESIS_HASH, hash: chainHash(GENESIS_HASH, { id: 'x' }), event: { id: 'x' } })}\n`;
        const torn = `${first}{"event":{"id":"torn`;
        writeFileSync(log, torn);
        const maxBytes = 60_000 + round * 7_001;
        const sink = fileSink({ path: log, fsync: false, rotate: { maxBytes } });
        let at = 0;
        for (const size of sizes) {
          await sink.write(events.slice(at, at + size) as unknown as AuditEvent[]);
          at += size;
        }
        await sink.close?.();
        const expected = referenceChain(events, maxBytes, {
          prevHash: chainHash(GENESIS_HASH, { id: 'x' }),
          text: `${torn}\n`,
        });
        const files = chainFiles(log);
        expect(files.map((f) => readFileSync(f, 'utf8'))).toEqual(expected);
        const report = await verifyChain(files, { all: true });
        expect(report.records).toBe(total + 1);
      } finally {
        tmp.remove();
      }
    }
  });

  it('is handed everything queued in one write (up to 1024 events), not batchSize at a time', async () => {
    const tmp = tempDir('group-batch');
    try {
      const sink = fileSink({ path: join(tmp.dir, 'audit.log'), fsync: false });
      const write = vi.spyOn(sink, 'write');
      const memory = new MemorySink();
      const trail = audit({ sinks: [sink, memory], spillDir: join(tmp.dir, 'spill'), batchSize: 10 });
      const chain = compose([trail]);
      // Recorded in one synchronous stretch: the worker starts on the next turn and finds 5,000 queued.
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 5000; i++) {
        calls.push(chain(createContext({ method: 'tools/list', requestId: i }), async () => ({ tools: [] })));
      }
      await Promise.all(calls);
      await trail.flush();
      expect(write.mock.calls.map(([events]) => events.length)).toEqual([1024, 1024, 1024, 1024, 904]);
      // Any other sink still gets batchSize events per write.
      expect(memory.writes).toBe(500);
      expect(trail.stats()).toMatchObject([
        { delivered: 5000, spilled: 0 },
        { delivered: 5000, spilled: 0 },
      ]);
      await trail.close();
      const report = await verifyChain(chainFiles(join(tmp.dir, 'audit.log')));
      expect(report).toMatchObject({ ok: true, records: 5000 });
    } finally {
      tmp.remove();
    }
  });
});
