import { isIPv6 } from 'node:net';
import { characterClasses, ibanValid, luhnValid, shannonEntropy } from './checks.js';
import { digitRuns } from './scan.js';

/** How a detected value is replaced. */
export type RedactionStrategy = 'mask' | 'partial' | 'hash' | 'remove';

/** A span of text a rule detected. */
export interface Finding {
  /** Rule name. */
  rule: string;
  /** Offset of the first character of the sensitive value. */
  start: number;
  /** Offset after its last character. */
  end: number;
}

/**
 * A detection rule. Built-in rules use the same shape, so custom rules behave exactly like them.
 * Keep patterns linear: bounded quantifiers, no nested unbounded repetition.
 *
 * @example
 * ```ts
 * const employeeId: RedactionRule = { name: 'employee-id', pattern: /\bEMP-\d{6}\b/ };
 * sanitize({ custom: [employeeId] });
 * ```
 */
export interface RedactionRule {
  /** Stable name used in counts (`ctx.state.redactions`) and masks. */
  name: string;
  /** `secret`, `pii` or `custom`; informational. */
  category?: 'secret' | 'pii' | 'custom';
  /** What to look for; the `g` flag is added when missing. */
  pattern: RegExp;
  /** Capture group holding the sensitive value (`password=(...)`); the whole match when omitted. */
  group?: number;
  /** Confirms a candidate value (checksums, entropy); candidates it rejects are left alone. */
  validate?: (value: string) => boolean;
  /** Strategy for this rule; defaults to the redactor's strategy. */
  strategy?: RedactionStrategy;
  /** Finds spans procedurally instead of by pattern (used for multi-line blocks). */
  find?: (text: string) => Array<[number, number]>;
}

const TYPE_WORDS = new Set([
  'string',
  'number',
  'boolean',
  'bigint',
  'object',
  'unknown',
  'undefined',
  'null',
  'none',
  'true',
  'false',
  'required',
  'optional',
  'redacted',
  'changeme',
]);

// TYPE_WORDS by length, for the ASCII comparison in isTypeWord.
const LONGEST_TYPE_WORD = Math.max(...[...TYPE_WORDS].map((w) => w.length));
const TYPE_WORDS_BY_LENGTH: string[][] = [];
for (const word of TYPE_WORDS) {
  TYPE_WORDS_BY_LENGTH[word.length] ??= [];
  TYPE_WORDS_BY_LENGTH[word.length]!.push(word);
}

/**
 * `TYPE_WORDS.has(value.toLowerCase())` without lower-casing ASCII values: for them lower-casing
 * is the ASCII fold, compared in place. Lower-casing maps every code point to one or more, so
 * a value over twice the longest word's length never lower-cases to a word.
 */
function isTypeWord(value: string): boolean {
  if (value.length > 2 * LONGEST_TYPE_WORD) return false;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) >= 128) return TYPE_WORDS.has(value.toLowerCase());
  }
  const words = TYPE_WORDS_BY_LENGTH[value.length];
  if (words === undefined) return false;
  for (const word of words) {
    let same = true;
    for (let i = 0; i < word.length && same; i++) {
      const c = value.charCodeAt(i);
      same = (c >= 65 && c <= 90 ? c + 32 : c) === word.charCodeAt(i);
    }
    if (same) return true;
  }
  return false;
}

const PLACEHOLDER_START = /^[$%{[<*#(]/;
const FILLER = /^(?:x+|\*+|\.+|-+)$/i;
const CALL_PARENTHESIS = /\)$|\($/;
const CONFIG_REFERENCE = /^(?:process\.env|os\.environ|env\.|config\.|this\.|self\.|settings\.|secrets\.)/i;
const VERSION_TAG = /^v?\d{1,6}(?:\.\d{1,6}){1,3}(?:[-+@]|$)/;

/** Rejects placeholders and code that merely names a secret (`password: string`, `token=${TOKEN}`). */
function plausibleSecretValue(value: string): boolean {
  if (isTypeWord(value)) return false;
  if (PLACEHOLDER_START.test(value)) return false;
  if (FILLER.test(value)) return false;
  if (CALL_PARENTHESIS.test(value)) return false;
  if (CONFIG_REFERENCE.test(value)) return false;
  if (value.includes('REDACTED')) return false;
  // Version tags (`image/token:1.2.3@sha256:...`) are not secrets.
  if (VERSION_TAG.test(value)) return false;
  return true;
}

function highEntropy(value: string): boolean {
  return (
    value.length >= 16 &&
    characterClasses(value) >= 3 &&
    shannonEntropy(value) >= 3.5 &&
    plausibleSecretValue(value)
  );
}

/** PEM private key blocks, found procedurally so many unterminated headers stay linear. */
function findPrivateKeys(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  const begin = /-----BEGIN (?:[A-Z0-9]{1,16} ){0,4}PRIVATE KEY( BLOCK)?-----/g;
  const end = /-----END (?:[A-Z0-9]{1,16} ){0,4}PRIVATE KEY( BLOCK)?-----/g;
  let match = begin.exec(text);
  while (match !== null) {
    end.lastIndex = match.index + match[0].length;
    const close = end.exec(text);
    if (close === null) {
      // An unterminated key is still a key: redact through the end of the base64 body.
      const body = /^[A-Za-z0-9+/=\s:,-]*/.exec(text.slice(match.index + match[0].length));
      spans.push([match.index, match.index + match[0].length + (body?.[0].length ?? 0)]);
      break;
    }
    spans.push([match.index, close.index + close[0].length]);
    begin.lastIndex = close.index + close[0].length;
    match = begin.exec(text);
  }
  return spans;
}

function cardNumberValid(digits: string): boolean {
  return (
    digits.length >= 13 &&
    digits.length <= 19 &&
    /^(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5|4[4-9])|35|3[0689])/.test(digits) &&
    luhnValid(digits)
  );
}

/**
 * Where a digit run can start: a digit not after a word character or `-` (`\w` is ASCII here),
 * followed by at least 12 more digit / space / dash characters. A run the card pattern matches at an
 * offset that is not one of these is shorter than 13 characters, and no such offset lies inside a
 * run the pattern matches at an offset that is not one of these (its characters would make that
 * offset one). These offsets all lie in runs of 13+ digit / space / dash characters (`digitRuns`).
 */
function isRunStart(text: string, s: number): boolean {
  const c = text.charCodeAt(s);
  if (c < 48 || c > 57) return false;
  if (s === 0) return true;
  const b = text.charCodeAt(s - 1);
  // [\w-]
  return !((b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b === 95 || b === 45);
}

/** True when `value` holds at least `n` ASCII digits. */
function hasDigits(value: string, n: number): boolean {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++count >= n) return true;
  }
  return false;
}

/**
 * Card numbers: runs of digit groups (space or dash separated), tried at every group boundary,
 * longest first, so `...00 4111 1111 1111 1111 123-45-6789` still yields the card.
 */
function findPaymentCards(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  const run = /(?<![\w-])\d{1,19}(?:[ -]\d{1,19}){0,11}(?!\w)/y;
  // The run pattern is tried only where a run of 13+ digit / space / dash characters starts (see
  // isRunStart); a run it matches elsewhere is shorter, so it holds fewer than 13 digits and no card.
  // `next` plays the lastIndex of a global scan for those starts.
  const runs = digitRuns(text, 13);
  let next = 0;
  for (let r = 0; r < runs.length; r += 2) {
    const last = runs[r + 1]! - 13;
    for (let s = Math.max(runs[r]!, next); s <= last; s = Math.max(s + 1, next)) {
      if (!isRunStart(text, s)) continue;
      run.lastIndex = s;
      const match = run.exec(text);
      if (match === null) continue;
      // Continue after this run, as a global scan of the run pattern does.
      next = s + match[0].length;
      // A card is 13-19 digits of this run: a run with fewer digits cannot hold one.
      if (hasDigits(match[0], 13)) cardsInRun(text, match, spans);
    }
  }
  return spans;
}

/** The cards in one run of digit groups, tried at every group boundary, longest first. */
function cardsInRun(text: string, match: RegExpExecArray, spans: Array<[number, number]>): void {
  const groups: Array<[number, number]> = [];
  const group = /\d+/g;
  for (let g = group.exec(match[0]); g !== null; g = group.exec(match[0])) {
    groups.push([match.index + g.index, match.index + g.index + g[0].length]);
  }
  let from = 0;
  while (from < groups.length) {
    let found = -1;
    for (let to = groups.length - 1; to >= from && found < 0; to--) {
      const digits = text.slice(groups[from]![0], groups[to]![1]).replace(/[ -]/g, '');
      if (digits.length <= 19 && cardNumberValid(digits)) found = to;
    }
    if (found >= 0) {
      spans.push([groups[from]![0], groups[found]![1]]);
      from = found + 1;
    } else from++;
  }
}

const PHONE =
  /(?<![\w.+-])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4})(?![\w-]|\.\d)/g;

const NON_DIGITS = /\D/g;

const phoneDigitsValid = (value: string) => {
  const digits = value.replace(NON_DIGITS, '').length;
  return digits >= 8 && digits <= 15;
};

const isDigitAt = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i);
  return c >= 48 && c <= 57;
};

/** A `.` or `-` at `i`. */
const isDotOrDashAt = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i);
  return c === 46 || c === 45;
};

/**
 * Where a {@link PHONE} match can start, ascending: its three forms begin with `+` and a digit,
 * with `(` three digits `)`, or with `ddd[.-]ddd[.-]dddd`, found from each `+`, `(`, `.` and `-`
 * (native searches) instead of trying the pattern at every offset.
 */
function phoneCandidates(text: string): number[] {
  const out: number[] = [];
  for (let p = text.indexOf('+'); p >= 0; p = text.indexOf('+', p + 1)) {
    if (isDigitAt(text, p + 1)) out.push(p);
  }
  for (let p = text.indexOf('('); p >= 0; p = text.indexOf('(', p + 1)) {
    if (
      text.charCodeAt(p + 4) === 41 &&
      isDigitAt(text, p + 1) &&
      isDigitAt(text, p + 2) &&
      isDigitAt(text, p + 3)
    )
      out.push(p);
  }
  // ddd[.-]ddd[.-]dddd, from its first separator at p.
  for (const sep of ['.', '-']) {
    for (let p = text.indexOf(sep, 3); p >= 0; p = text.indexOf(sep, p + 1)) {
      if (
        isDigitAt(text, p - 1) &&
        isDigitAt(text, p + 1) &&
        isDotOrDashAt(text, p + 4) &&
        isDigitAt(text, p - 2) &&
        isDigitAt(text, p - 3) &&
        isDigitAt(text, p + 2) &&
        isDigitAt(text, p + 3) &&
        isDigitAt(text, p + 5) &&
        isDigitAt(text, p + 6) &&
        isDigitAt(text, p + 7) &&
        isDigitAt(text, p + 8)
      ) {
        out.push(p - 3);
      }
    }
  }
  return out.length < 2 ? out : out.sort((a, b) => a - b);
}

const PHONE_AT = new RegExp(PHONE.source, 'y');

/**
 * Phone numbers; a run too long to be one number is cut back at a separator (`+1 415 555 0132 4111 ...`).
 * The pattern runs (sticky) only at {@link phoneCandidates}, with `next` playing a global scan's
 * `lastIndex`, so the matches are those of a scan from every offset.
 */
function findPhones(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  const candidates = phoneCandidates(text);
  let next = 0;
  for (let i = 0; i < candidates.length; i++) {
    const at = candidates[i]!;
    if (at < next) continue;
    PHONE_AT.lastIndex = at;
    const match = PHONE_AT.exec(text);
    if (match === null) continue;
    next = at + match[0].length;
    let value = match[0];
    while (!phoneDigitsValid(value)) {
      const cut = value.search(/[ .-]\d{1,4}$/);
      if (cut <= 0) break;
      value = value.slice(0, cut);
    }
    if (phoneDigitsValid(value)) {
      spans.push([at, at + value.length]);
      next = at + value.length;
    }
  }
  return spans;
}

const SECRET_KEYS =
  'passw(?:or)?d|passphrase|pwd|secret|api[_-]?key|apikey|access[_-]?key|(?:access|auth|refresh|bearer|session|csrf|id)[_-]?token|client[_-]?secret|private[_-]?key|token|credentials?';

/**
 * The built-in rules, secrets first. Every rule is on by default; turn one off with
 * `rules: { name: false }`.
 *
 * @example
 * ```ts
 * import { BUILTIN_RULES } from '@mcp-harden/sanitize';
 * BUILTIN_RULES.filter((r) => r.category === 'pii').map((r) => r.name);
 * ```
 */
export const BUILTIN_RULES = [
  { name: 'private-key', category: 'secret', pattern: /$^/, find: findPrivateKeys },
  {
    name: 'aws-access-key-id',
    category: 'secret',
    pattern:
      /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
  },
  {
    name: 'aws-secret-access-key',
    category: 'secret',
    pattern:
      /aws_?secret_?(?:access_?)?key["']?[ \t]{0,8}(?:=|:|=>)[ \t]{0,8}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    group: 1,
  },
  {
    name: 'github-token',
    category: 'secret',
    pattern:
      /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g,
  },
  {
    name: 'gitlab-token',
    category: 'secret',
    pattern: /(?<![A-Za-z0-9_-])gl(?:pat|dt|ptt|rt|cbt)-[A-Za-z0-9_-]{20,64}/g,
  },
  {
    name: 'slack-token',
    category: 'secret',
    pattern:
      /(?<![A-Za-z0-9])(?:xox[abposre]-[A-Za-z0-9-]{10,250}|https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,12}\/B[A-Z0-9]{6,12}\/[A-Za-z0-9]{16,32})/g,
  },
  {
    name: 'stripe-key',
    category: 'secret',
    pattern: /(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}(?![A-Za-z0-9])/g,
  },
  {
    name: 'google-api-key',
    category: 'secret',
    pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g,
  },
  {
    name: 'jwt',
    category: 'secret',
    pattern:
      /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,4096}\.eyJ[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{0,1024}(?![A-Za-z0-9_-])/g,
  },
  {
    name: 'url-credentials',
    category: 'secret',
    pattern: /\b[a-z][a-z0-9+.-]{1,15}:\/\/[^\s:@/?#]{1,128}:([^\s@/?#]{1,256})@/gi,
    group: 1,
  },
  {
    name: 'bearer-token',
    category: 'secret',
    pattern: /\bbearer[ \t]{1,4}([A-Za-z0-9._~+/-]{16,4096}=*)/gi,
    group: 1,
    validate: (value: string) => shannonEntropy(value) >= 3,
  },
  {
    name: 'secret-assignment',
    category: 'secret',
    pattern: new RegExp(
      `(?:${SECRET_KEYS})["']?[ \\t]{0,8}(?:=|:|=>)[ \\t]{0,8}["']?([^\\s"'&,;<>\`]{4,512})`,
      'gi',
    ),
    group: 1,
    validate: plausibleSecretValue,
  },
  {
    name: 'high-entropy-assignment',
    category: 'secret',
    pattern:
      /(?:key|auth|sig|signature|session|cookie|salt|nonce)["']?[ \t]{0,8}(?:=|:|=>)[ \t]{0,8}["']?([A-Za-z0-9+/=_.~-]{16,1024})/gi,
    group: 1,
    validate: highEntropy,
  },
  {
    name: 'email',
    category: 'pii',
    pattern:
      /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-])/g,
  },
  { name: 'payment-card', category: 'pii', pattern: /$^/, find: findPaymentCards },
  {
    name: 'us-ssn',
    category: 'pii',
    pattern: /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g,
  },
  {
    name: 'iban',
    category: 'pii',
    pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g,
    validate: ibanValid,
  },
  { name: 'phone', category: 'pii', pattern: /$^/, find: findPhones },
  {
    name: 'ipv4',
    category: 'pii',
    pattern:
      /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\w|\.\d)/g,
  },
  {
    name: 'ipv6',
    category: 'pii',
    pattern: /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])/g,
    validate: (value: string) => value.replace(/[^0-9A-Fa-f]/g, '').length >= 2 && isIPv6(value),
  },
] as const satisfies readonly RedactionRule[];

/** Names of the built-in rules. */
export type BuiltinRuleName = (typeof BUILTIN_RULES)[number]['name'];

/**
 * Names of the built-in rules, secrets first.
 *
 * @example
 * ```ts
 * import { BUILTIN_RULE_NAMES } from '@mcp-harden/sanitize';
 * BUILTIN_RULE_NAMES.includes('email'); // true
 * ```
 */
export const BUILTIN_RULE_NAMES: readonly BuiltinRuleName[] = BUILTIN_RULES.map((r) => r.name);
