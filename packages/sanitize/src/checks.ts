/** Checksums and statistics that turn pattern matches into confident detections. */

/**
 * True when the digits of `value` (other characters ignored) pass the Luhn check.
 *
 * @example
 * ```ts
 * luhnValid('4111 1111 1111 1111'); // true
 * ```
 */
export function luhnValid(value: string): boolean {
  let sum = 0;
  let double = false;
  let digits = 0;
  for (let i = value.length - 1; i >= 0; i--) {
    const code = value.charCodeAt(i);
    if (code < 48 || code > 57) continue;
    let d = code - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
    digits++;
  }
  return digits > 0 && sum % 10 === 0;
}

/** IBAN lengths by country (ISO 13616 registry, common countries). */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24,
  AE: 23,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  TN: 24,
  TR: 26,
  UA: 29,
  VG: 24,
  XK: 20,
};

/**
 * True when `value` (spaces ignored) is an IBAN of the right length for its country with a valid mod-97 checksum.
 *
 * @example
 * ```ts
 * ibanValid('GB82 WEST 1234 5698 7654 32'); // true
 * ```
 */
export function ibanValid(value: string): boolean {
  const iban = value.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const expected = IBAN_LENGTHS[iban.slice(0, 2)];
  if (expected !== undefined ? iban.length !== expected : iban.length < 15 || iban.length > 34) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const chunk = code >= 65 ? String(code - 55) : ch;
    for (const digit of chunk) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

/**
 * Shannon entropy in bits per character.
 *
 * @example
 * ```ts
 * shannonEntropy('aaaa'); // 0
 * ```
 */
export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  // ASCII text: counts in a reused table, summed in first-occurrence order like the Map below,
  // so the result is the same number to the last bit.
  const order: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128) {
      for (const seen of order) ASCII_COUNTS[seen] = 0;
      return entropyOfCodePoints(value);
    }
    const seen = ASCII_COUNTS[c]!;
    ASCII_COUNTS[c] = seen + 1;
    if (seen === 0) order.push(c);
  }
  let entropy = 0;
  for (const c of order) {
    const p = ASCII_COUNTS[c]! / value.length;
    entropy -= p * Math.log2(p);
    ASCII_COUNTS[c] = 0;
  }
  return entropy;
}

const ASCII_COUNTS = new Int32Array(128);

/** {@link shannonEntropy} over code points, for text that is not all ASCII. */
function entropyOfCodePoints(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let entropy = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/**
 * How many of lower case, upper case, digits and other characters `value` uses (0-4).
 *
 * @example
 * ```ts
 * characterClasses('aB3!'); // 4
 * ```
 */
export function characterClasses(value: string): number {
  return (
    Number(/[a-z]/.test(value)) +
    Number(/[A-Z]/.test(value)) +
    Number(/\d/.test(value)) +
    Number(/[^A-Za-z0-9]/.test(value))
  );
}
