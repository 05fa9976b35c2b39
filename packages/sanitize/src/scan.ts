/**
 * Candidate start positions for the built-in redaction rules whose regexes are the most expensive
 * to run from every position of a text (email, IPv6, URL credentials, key assignments).
 *
 * Each finder returns, in ascending order, a superset of the offsets where the rule's pattern can
 * start a match: it looks for a literal every match contains (`@`, `:`, `://`, `=`) and derives
 * from it the only offsets a match through that literal can start at. The redactor then runs the
 * rule's own regex anchored (sticky) at those offsets only, which finds exactly the matches a
 * global scan finds (a global scan returns the leftmost offset where the pattern matches; every
 * such offset is a candidate). Only attached to the built-in rules as shipped, never to a custom
 * rule. Internal: not exported from the package.
 */

/** Returns candidate match starts in ascending order (duplicates allowed). */
export type CandidateFinder = (text: string) => number[];

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isWord = (c: number) => isAlpha(c) || isDigit(c) || c === 95;
const isHex = (c: number) => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
// [A-Za-z0-9._%+-]
const isEmailLocal = (c: number) =>
  isAlpha(c) || isDigit(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
// [a-z0-9+.-] under the i flag
const isSchemeChar = (c: number) => isAlpha(c) || isDigit(c) || c === 43 || c === 46 || c === 45;

/**
 * `email`: `(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@…`. A match's local part is the whole run of
 * local-part characters before its `@` (the look-behind forbids one more), so each `@` allows at
 * most one start: the beginning of that run, when it is 1-64 characters long.
 */
export function emailCandidates(text: string): number[] {
  const out: number[] = [];
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let s = at;
    while (s > 0 && at - s <= 64 && isEmailLocal(text.charCodeAt(s - 1))) s--;
    if (at - s >= 1 && at - s <= 64) out.push(s);
  }
  return out;
}

/**
 * `ipv6`: `(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}…`. A match starts with up to 4 hex digits and a
 * colon, after a character that is not a word character (hex digits are), so the first colon of a
 * match determines its start: the beginning of the hex run before it, at most 4 long.
 */
export function ipv6Candidates(text: string): number[] {
  const out: number[] = [];
  for (let c = text.indexOf(':'); c >= 0; c = text.indexOf(':', c + 1)) {
    let s = c;
    while (s > 0 && c - s <= 4 && isHex(text.charCodeAt(s - 1))) s--;
    if (c - s > 4) continue;
    if (s > 0) {
      const before = text.charCodeAt(s - 1);
      if (isWord(before) || before === 58 || before === 46) continue;
    }
    out.push(s);
  }
  return out;
}

/**
 * `url-credentials`: `\b[a-z][a-z0-9+.-]{1,15}:\/\/…` (i). A match starts 2-16 characters before a
 * `://`, at a letter on a word boundary, with only scheme characters up to the `://`.
 */
export function urlCredentialCandidates(text: string): number[] {
  const out: number[] = [];
  for (let p = text.indexOf('://'); p >= 0; p = text.indexOf('://', p + 1)) {
    let r = p;
    while (r > 0 && p - r < 16 && isSchemeChar(text.charCodeAt(r - 1))) r--;
    for (let s = r; s <= p - 2; s++) {
      if (isAlpha(text.charCodeAt(s)) && (s === 0 || !isWord(text.charCodeAt(s - 1)))) out.push(s);
    }
  }
  return out;
}

/** Does `text` hold `word` (lower-case ASCII letters, `_`, `-`) at `at`, ASCII case-insensitively? */
function holdsAt(text: string, at: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const w = word.charCodeAt(i);
    const c = text.charCodeAt(at + i);
    if (c !== w && !(w >= 97 && w <= 122 && c === w - 32)) return false;
  }
  return true;
}

/**
 * For the assignment rules, `(?:<keywords>)["']?[ \t]{0,8}(?:=|:|=>)…` (i): every match has a `=`
 * or `:` after its keyword, separated only by an optional quote and at most 8 spaces or tabs, so
 * the keyword ends right before that quote / space run, and starts one keyword length earlier.
 * `words` lists every spelling the keyword alternation accepts (lower case).
 */
export function assignmentCandidates(words: readonly string[]): CandidateFinder {
  // Words by their last character, so most anchors are dismissed with one lookup.
  const byLast = new Map<number, string[]>();
  for (const word of words) {
    const last = word.charCodeAt(word.length - 1);
    const list = byLast.get(last) ?? [];
    list.push(word);
    byLast.set(last, list);
  }
  const endingAt = (text: string, end: number, out: number[]) => {
    if (end <= 0) return;
    let last = text.charCodeAt(end - 1);
    if (last >= 65 && last <= 90) last += 32;
    const list = byLast.get(last);
    if (!list) return;
    for (const word of list) {
      const start = end - word.length;
      if (start >= 0 && holdsAt(text, start, word)) out.push(start);
    }
  };
  return (text) => {
    const out: number[] = [];
    let eq = text.indexOf('=');
    let colon = text.indexOf(':');
    const local: number[] = [];
    while (eq >= 0 || colon >= 0) {
      let a: number;
      if (colon < 0 || (eq >= 0 && eq < colon)) {
        a = eq;
        eq = text.indexOf('=', eq + 1);
      } else {
        a = colon;
        colon = text.indexOf(':', colon + 1);
      }
      let e = a;
      while (e > 0 && a - e <= 8) {
        const c = text.charCodeAt(e - 1);
        if (c !== 32 && c !== 9) break;
        e--;
      }
      if (a - e > 8) continue;
      local.length = 0;
      endingAt(text, e, local);
      if (e > 0) {
        const q = text.charCodeAt(e - 1);
        if (q === 34 || q === 39) endingAt(text, e - 1, local);
      }
      if (local.length > 1) local.sort((x, y) => x - y);
      for (const s of local) out.push(s);
    }
    return out;
  };
}

const SEPARATORS = ['', '_', '-'];

/** Every spelling of `SECRET_KEYS` in rules.ts (the `secret-assignment` keywords), lower case. */
export const SECRET_KEY_WORDS: readonly string[] = [
  'passwd',
  'password',
  'passphrase',
  'pwd',
  'secret',
  ...SEPARATORS.map((s) => `api${s}key`),
  'apikey',
  ...SEPARATORS.map((s) => `access${s}key`),
  ...['access', 'auth', 'refresh', 'bearer', 'session', 'csrf', 'id'].flatMap((p) =>
    SEPARATORS.map((s) => `${p}${s}token`),
  ),
  ...SEPARATORS.map((s) => `client${s}secret`),
  ...SEPARATORS.map((s) => `private${s}key`),
  'token',
  'credential',
  'credentials',
];

/** Every spelling of `aws_?secret_?(?:access_?)?key`, lower case. */
export const AWS_SECRET_WORDS: readonly string[] = ['aws', 'aws_'].flatMap((a) =>
  ['secret', 'secret_'].flatMap((b) => ['', 'access', 'access_'].map((c) => `${a}${b}${c}key`)),
);

/** The `high-entropy-assignment` keywords. */
export const HIGH_ENTROPY_WORDS: readonly string[] = [
  'key',
  'auth',
  'sig',
  'signature',
  'session',
  'cookie',
  'salt',
  'nonce',
];
