import * as crypto from 'node:crypto';
import { createHash, createHmac } from 'node:crypto';

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
      return JSON.stringify(value);
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
      out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${write(member, seen)}`;
    }
    return `${out}}`;
  } finally {
    seen.delete(obj);
  }
}

// Every top-level key an AuditEvent (schema v1) can have, in canonical (code unit) order, with
// its JSON-quoted form; see eventCanonicalJson.
const EVENT_KEYS = [
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
].sort();
const EVENT_KEY_BIT = new Map(EVENT_KEYS.map((key, i) => [key, 1 << i]));
const EVENT_KEY_JSON = EVENT_KEYS.map((key) => `${JSON.stringify(key)}:`);

/**
 * `canonicalJson(event)` for an audit event, faster: the top-level keys of an event are a known
 * set, so their sorted order and quoted forms are computed once instead of per event. Anything
 * else (an unknown key, a `toJSON`, a non-object) takes the general path, so the text is always
 * exactly what `canonicalJson` produces.
 */
export function eventCanonicalJson(event: unknown): string {
  if (
    typeof event !== 'object' ||
    event === null ||
    Array.isArray(event) ||
    typeof (event as { toJSON?: unknown }).toJSON === 'function'
  ) {
    return canonicalJson(event);
  }
  const record = event as Record<string, unknown>;
  let present = 0;
  for (const key of Object.keys(record)) {
    const bit = EVENT_KEY_BIT.get(key);
    if (bit === undefined) return canonicalJson(event);
    present |= bit;
  }
  const seen = new Set<object>([record]);
  let out = '{';
  for (let i = 0; i < EVENT_KEYS.length; i++) {
    if ((present & (1 << i)) === 0) continue;
    const member = record[EVENT_KEYS[i]!];
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
    out += `${out.length === 1 ? '' : ','}${EVENT_KEY_JSON[i]}${write(member, seen)}`;
  }
  return `${out}}`;
}

// One-shot `crypto.hash` (Node >= 20.12) is about twice as fast as a Hash object for short input.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

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
  const text = canonicalJson(args);
  if (key === undefined) return `sha256:${sha256Hex(text)}`;
  return `hmac-sha256:${createHmac('sha256', key).update(text, 'utf8').digest('hex')}`;
}
