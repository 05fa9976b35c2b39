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
  const budget = { left: limit };
  return fits(value, budget, 0);
}

function fits(value: unknown, budget: { left: number }, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      budget.left -= 2 + BYTES_PER_UNIT * value.length;
      return budget.left >= 0;
    case 'number':
      budget.left -= NUMBER_BYTES;
      return budget.left >= 0;
    case 'boolean':
    case 'undefined':
    case 'symbol':
      // `false`; undefined and symbols are left out of objects and written `null` in arrays.
      budget.left -= 5;
      return budget.left >= 0;
    case 'object':
      break;
    default:
      return false; // bigint, function
  }
  if (value === null) {
    budget.left -= 4;
    return budget.left >= 0;
  }
  if (depth >= MAX_DEPTH) return false;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype || (value as { toJSON?: unknown }).toJSON !== undefined) return false;
    budget.left -= 2 + value.length;
    if (budget.left < 0) return false;
    for (let i = 0; i < value.length; i++) if (!fits(value[i], budget, depth + 1)) return false;
    return true;
  }
  if ((proto !== Object.prototype && proto !== null) || (value as { toJSON?: unknown }).toJSON !== undefined)
    return false;
  budget.left -= 2;
  for (const key of Object.keys(value)) {
    // "key": value,
    budget.left -= 4 + BYTES_PER_UNIT * key.length;
    if (budget.left < 0) return false;
    if (!fits((value as Record<string, unknown>)[key], budget, depth + 1)) return false;
  }
  return budget.left >= 0;
}
