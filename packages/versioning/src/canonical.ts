import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every depth; `undefined` members are dropped (as JSON does). */
export function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : canonicalize(item)));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = canonicalize(member);
    }
    return out;
  }
  return value;
}

/**
 * The canonical JSON text of a value: keys sorted at every depth, no whitespace. Two values
 * that are equal as JSON have the same canonical text.
 *
 * @example
 * ```ts
 * import { canonicalJson } from '@mcp-harden/versioning';
 * canonicalJson({ b: 1, a: [true] }); // '{"a":[true],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value)) ?? 'null';
}

/**
 * SHA-256 of the canonical JSON of a value, as `sha256:<hex>`. An absent part (`undefined`)
 * hashes as `null`.
 *
 * @example
 * ```ts
 * import { fingerprint } from '@mcp-harden/versioning';
 * fingerprint({ type: 'object' }); // 'sha256:…'
 * ```
 */
export function fingerprint(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex')}`;
}

// Format characters (Cf: zero-width, bidi controls, tag characters, soft hyphen, ...), variation
// selectors and other code points that render as nothing but still reach the model.
const INVISIBLE =
  /\p{Cf}|[\u{FE00}-\u{FE0F}]|[\u{E0100}-\u{E01EF}]|[\u115F\u1160\u3164\uFFA0\u17B4\u17B5]|\u034F/gu;

/**
 * The invisible code points in a string (zero-width, bidi controls, Unicode tags, variation
 * selectors, ...), as code-point labels such as `U+200B`, in order of appearance.
 *
 * @example
 * ```ts
 * import { invisibleCharacters } from '@mcp-harden/versioning';
 * invisibleCharacters('se\u200Barch'); // ['U+200B']
 * ```
 */
export function invisibleCharacters(text: string): string[] {
  return [...text.matchAll(INVISIBLE)].map(
    (m) => `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`,
  );
}

/** `text` without its invisible code points (internal). */
export function stripInvisible(text: string): string {
  return text.replace(INVISIBLE, '');
}
