/**
 * A cheap upper bound of `Buffer.byteLength(JSON.stringify(value))`, so the output size cap does
 * not serialize every result just to measure it. Internal: not exported from the package.
 */

// JSON.stringify writes a UTF-16 unit as at most 6 bytes (`\u001f`, or an escaped lone
// surrogate); unescaped, a unit is at most 3 bytes of UTF-8 (a surrogate pair, 2 units, is 4).
const BYTES_PER_UNIT = 6;
// Longest JSON number text is 24 characters (`-1.2345678901234567e-308`).
const NUMBER_BYTES = 32;
const MAX_DEPTH = 64;

/**
 * True when `JSON.stringify(value)` is sure to fit in `limit` UTF-8 bytes. False when it may not,
 * or when the value is anything but plain JSON data (`toJSON`, class instances, bigint, functions,
 * very deep or cyclic structures): the caller then measures exactly, as before.
 */
export function surelyFitsJson(value: unknown, limit: number): boolean {
  return left(value, limit, 0) >= 0;
}

/** `budget` minus the bound of `value`; negative when it does not surely fit (or is not plain). */
function left(value: unknown, budget: number, depth: number): number {
  switch (typeof value) {
    case 'string':
      return budget - 2 - BYTES_PER_UNIT * value.length;
    case 'number':
      return budget - NUMBER_BYTES;
    case 'boolean':
    case 'undefined':
    case 'symbol':
      // `false`; undefined and symbols are left out of objects and written `null` in arrays.
      return budget - 5;
    case 'object':
      break;
    default:
      return -1; // bigint, function
  }
  if (value === null) return budget - 4;
  if (depth >= MAX_DEPTH) return -1;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype || (value as { toJSON?: unknown }).toJSON !== undefined) return -1;
    let rest = budget - 2 - value.length;
    for (let i = 0; i < value.length && rest >= 0; i++) rest = left(value[i], rest, depth + 1);
    return rest;
  }
  if ((proto !== Object.prototype && proto !== null) || (value as { toJSON?: unknown }).toJSON !== undefined)
    return -1;
  let rest = budget - 2;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    // "key": value,
    rest = left((value as Record<string, unknown>)[key], rest - 4 - BYTES_PER_UNIT * key.length, depth + 1);
    if (rest < 0) return rest;
  }
  return rest;
}
