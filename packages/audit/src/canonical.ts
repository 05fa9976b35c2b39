import * as crypto from 'node:crypto';
import { createHash, createHmac } from 'node:crypto';

// A string holding none of these is its own JSON text between quotes: JSON.stringify escapes only
// '"', '\\', U+0000-U+001F and lone surrogates (any surrogate here, paired or not, takes the slow path).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters JSON escapes are the point
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(text)` for a string, about twice as fast when nothing needs escaping. */
export function quoteJson(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, `undefined` members dropped,
 * non-finite numbers as `null` (as `JSON.stringify` does). The same value always yields the same
 * text, so digests and chain hashes can be recomputed by anyone.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

function write(value: unknown, seen: Set<object>): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return quoteJson(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object':
      break;
    default:
      return 'null';
  }
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError('canonicalJson: cyclic value');
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      let out = '[';
      for (let i = 0; i < obj.length; i++) out += i === 0 ? write(obj[i], seen) : `,${write(obj[i], seen)}`;
      return `${out}]`;
    }
    if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
      return write((obj as { toJSON: () => unknown }).toJSON(), seen);
    }
    const record = obj as Record<string, unknown>;
    const keys = Object.keys(record);
    // Default sort compares UTF-16 code units, the order the format specifies.
    if (keys.length > 1) keys.sort();
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const member = record[key];
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      out += `${out.length === 1 ? '' : ','}${quoteJson(key)}:${write(member, seen)}`;
    }
    return `${out}}`;
  } finally {
    seen.delete(obj);
  }
}

/**
 * The known members of an object with a fixed set of keys: their canonical (code unit) order, their
 * JSON-quoted forms, and the shape of members that are themselves fixed-shape objects.
 */
interface Shape {
  readonly keys: readonly string[];
  readonly quoted: readonly string[];
  readonly bit: ReadonlyMap<string, number>;
  readonly nested: readonly (Shape | undefined)[];
}

function shape(keys: readonly string[], nested: Readonly<Record<string, Shape>> = {}): Shape {
  const sorted = [...keys].sort();
  if (sorted.length > 30) throw new RangeError('shape: too many keys');
  return {
    keys: sorted,
    quoted: sorted.map((key) => `${JSON.stringify(key)}:`),
    bit: new Map(sorted.map((key, i) => [key, 1 << i])),
    nested: sorted.map((key) => nested[key]),
  };
}

// AuditEvent (schema v1): every top-level key, and the members that are fixed-shape objects
// (see types.ts). `arguments` and `redactions` hold arbitrary keys: they take the general path.
const EVENT_SHAPE = shape(
  [
    'schemaVersion',
    'id',
    'time',
    'method',
    'target',
    'targetKind',
    'principal',
    'decision',
    'outcome',
    'latencyMs',
    'argumentsDigest',
    'arguments',
    'redactions',
    'injection',
    'authorization',
    'rateLimit',
    'deprecation',
    'sessionId',
    'requestId',
    'traceId',
    'spanId',
    'transport',
  ],
  {
    principal: shape(['subject', 'clientId', 'tenant', 'authMethod']),
    decision: shape(['result', 'by', 'code']),
    outcome: shape(['status', 'code']),
    injection: shape(['flagged', 'patterns']),
    authorization: shape(['allowed', 'rule', 'reason', 'requiredScopes']),
    rateLimit: shape(['level', 'refused', 'remainingPoints', 'retryAfterMs']),
    deprecation: shape(['tool', 'version', 'sunset', 'replacement']),
  },
);

/**
 * `write(value, seen)` for an object expected to have the keys of `s`: the sorted order and quoted
 * keys are precomputed, members that are fixed-shape objects recurse with their own shape, and
 * everything else (a primitive, an array, an arbitrary object) is written by `write`. Anything the
 * shape does not cover (an unknown key, an array, a `toJSON`, the root itself) is handed to
 * `write` whole, so the text is always exactly what `write` produces. Like `write`, it holds
 * `value` in `seen` while its members are written, so a cycle throws the same error.
 */
function writeShaped(value: object, s: Shape, seen: Set<object>): string {
  if (
    Array.isArray(value) ||
    typeof (value as { toJSON?: unknown }).toJSON === 'function' ||
    seen.has(value)
  ) {
    return write(value, seen);
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let present = 0;
  for (let i = 0; i < keys.length; i++) {
    const bit = s.bit.get(keys[i]!);
    if (bit === undefined) return write(value, seen);
    present |= bit;
  }
  seen.add(value);
  let out = '{';
  for (let i = 0; i < s.keys.length; i++) {
    if ((present & (1 << i)) === 0) continue;
    const member = record[s.keys[i]!];
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
    const nested = s.nested[i];
    const text =
      typeof member === 'string'
        ? quoteJson(member)
        : nested !== undefined && typeof member === 'object' && member !== null
          ? writeShaped(member, nested, seen)
          : write(member, seen);
    out += out.length === 1 ? `${s.quoted[i]}${text}` : `,${s.quoted[i]}${text}`;
  }
  // No try/finally needed: when a member throws, the error leaves eventCanonicalJson and the set with it.
  seen.delete(value);
  return `${out}}`;
}

/**
 * `canonicalJson(event)` for an audit event, faster: the keys of an event and of its fixed-shape
 * members (principal, decision, outcome, ...) are known sets, so their sorted order and quoted
 * forms are computed once instead of per event. Anything else (an unknown key, a `toJSON`, a
 * non-object) takes the general path, so the text is always exactly what `canonicalJson` produces.
 */
export function eventCanonicalJson(event: unknown): string {
  if (typeof event !== 'object' || event === null) return canonicalJson(event);
  return writeShaped(event, EVENT_SHAPE, new Set());
}

/**
 * `canonicalJson(value)` for the common arguments object whose members are all primitives (no
 * nesting, so no cycle to track), or undefined when `value` is anything else: the caller then
 * takes the general path. Same rules as `write`, member by member.
 */
function flatCanonicalJson(value: unknown): string | undefined {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    return undefined;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > 1) keys.sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const member = record[key];
    let text: string;
    switch (typeof member) {
      case 'string':
        text = quoteJson(member);
        break;
      case 'number':
        text = Number.isFinite(member) ? JSON.stringify(member) : 'null';
        break;
      case 'boolean':
        text = member ? 'true' : 'false';
        break;
      case 'bigint':
        text = JSON.stringify(member.toString());
        break;
      case 'object':
        if (member !== null) return undefined;
        text = 'null';
        break;
      default:
        continue; // undefined, function, symbol: left out, as `write` does
    }
    out += `${out.length === 1 ? '' : ','}${quoteJson(key)}:${text}`;
  }
  return `${out}}`;
}

// One-shot `crypto.hash` (Node >= 20.12) is about twice as fast as a Hash object for short input.
const oneShotHash = (
  crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }
).hash;

/** Lower-case hex SHA-256 of bytes. */
export function sha256HexOf(bytes: Uint8Array): string {
  if (oneShotHash !== undefined) return oneShotHash('sha256', bytes, 'hex');
  return createHash('sha256').update(bytes).digest('hex');
}

/** Lower-case hex SHA-256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  if (oneShotHash !== undefined) return oneShotHash('sha256', text, 'hex');
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The digest recorded for a request's arguments: `sha256:` + hex SHA-256 of their canonical JSON,
 * or, with a key, `hmac-sha256:` + hex HMAC-SHA-256 (so low-entropy values such as PINs cannot be
 * recovered by guessing). Lets an investigator check "was it called with exactly these
 * arguments?" without the log holding the values.
 *
 * @example
 * ```ts
 * argumentsDigest({ path: '/etc/hosts' }); // 'sha256:…'
 * argumentsDigest({ pin: '1234' }, process.env.AUDIT_DIGEST_KEY); // 'hmac-sha256:…'
 * ```
 */
export function argumentsDigest(args: unknown, key?: string | Uint8Array): string {
  const text = flatCanonicalJson(args) ?? canonicalJson(args);
  if (key === undefined) return `sha256:${sha256Hex(text)}`;
  return `hmac-sha256:${createHmac('sha256', key).update(text, 'utf8').digest('hex')}`;
}
