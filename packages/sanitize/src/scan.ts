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
export type CandidateFinder = (text: string, memo: ScanMemo) => number[];

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

/** Per-text scratch shared by the pre-checks and candidate finders of one `detect` call. */
export interface ScanMemo {
  /** Keyword end offsets before each `=` / `:` (pairs: end, end before a quote or -1). */
  assignmentEnds: number[] | undefined;
}

/**
 * Where a keyword of an assignment rule must end, for every `=` and `:` of the text: right
 * before the run of spaces / tabs in front of it (at most 8), or one further when that run is
 * preceded by a quote. Computed once per text for all assignment rules.
 */
function assignmentEnds(text: string, memo: ScanMemo): number[] {
  if (memo.assignmentEnds) return memo.assignmentEnds;
  const ends: number[] = [];
  let eq = text.indexOf('=');
  let colon = text.indexOf(':');
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
    if (a - e > 8 || e === 0) continue;
    const q = text.charCodeAt(e - 1);
    ends.push(e, q === 34 || q === 39 ? e - 1 : -1);
  }
  memo.assignmentEnds = ends;
  return ends;
}

/**
 * For the assignment rules, `(?:<keywords>)["']?[ \t]{0,8}(?:=|:|=>)…` (i): every match has a `=`
 * or `:` after its keyword, separated only by an optional quote and at most 8 spaces or tabs, so
 * the keyword ends right before that quote / space run, and starts one keyword length earlier.
 * `words` lists every spelling the keyword alternation accepts (lower case). Candidates of one
 * `=` / `:` all lie after the previous one (keywords hold no `=`, `:`, quote or blank).
 */
export function assignmentCandidates(words: readonly string[]): CandidateFinder {
  // Words by their last character (ASCII, lower case), so most anchors are dismissed with one lookup.
  const byLast: Array<string[] | undefined> = new Array(128).fill(undefined);
  for (const word of new Set(words)) {
    const last = word.charCodeAt(word.length - 1);
    byLast[last] ??= [];
    byLast[last].push(word);
  }
  const endingAt = (text: string, end: number, out: number[]) => {
    let last = text.charCodeAt(end - 1);
    if (last >= 65 && last <= 90) last += 32;
    const list = last < 128 ? byLast[last] : undefined;
    if (list === undefined) return;
    for (const word of list) {
      const start = end - word.length;
      if (start >= 0 && holdsAt(text, start, word)) out.push(start);
    }
  };
  return (text, memo) => {
    const out: number[] = [];
    const ends = assignmentEnds(text, memo);
    for (let i = 0; i < ends.length; i += 2) {
      const from = out.length;
      endingAt(text, ends[i]!, out);
      const quoted = ends[i + 1]!;
      if (quoted > 0) endingAt(text, quoted, out);
      // Ascending within one anchor (insertion sort; rarely more than one candidate).
      for (let j = from + 1; j < out.length; j++) {
        const v = out[j]!;
        let k = j - 1;
        while (k >= from && out[k]! > v) {
          out[k + 1] = out[k]!;
          k--;
        }
        out[k + 1] = v;
      }
    }
    return out;
  };
}

/**
 * `github-token`: every match starts with `gh[pousr]_` or `github_pat_`, so it has a `_` 3 or 6
 * characters after its start (`_` is rare in prose: a native search for it is cheap).
 */
export function githubCandidates(text: string): number[] {
  const out: number[] = [];
  let unordered = false;
  for (let u = text.indexOf('_'); u >= 0; u = text.indexOf('_', u + 1)) {
    if (u >= 6 && text.startsWith('github_pat_', u - 6)) {
      if (out.length > 0 && out[out.length - 1]! > u - 6) unordered = true;
      out.push(u - 6);
    }
    if (u >= 3 && text.charCodeAt(u - 3) === 103 && text.charCodeAt(u - 2) === 104) {
      const c = text.charCodeAt(u - 1);
      // p o u s r
      if (c === 112 || c === 111 || c === 117 || c === 115 || c === 114) {
        if (out.length > 0 && out[out.length - 1]! > u - 3) unordered = true;
        out.push(u - 3);
      }
    }
  }
  return unordered ? out.sort((a, b) => a - b) : out;
}

/**
 * `ipv4`: `(?<![\w.])(?:(?:25[0-5]|…|[1-9]?\d)\.){3}…`. A match starts with 1-3 digits and a dot,
 * after a character that is neither a word character nor a dot, so the first dot of a match
 * determines its start: the beginning of the digit run before it, at most 3 long.
 */
export function ipv4Candidates(text: string): number[] {
  const out: number[] = [];
  for (let d = text.indexOf('.'); d >= 0; d = text.indexOf('.', d + 1)) {
    let s = d;
    while (s > 0 && d - s <= 3 && isDigit(text.charCodeAt(s - 1))) s--;
    if (s === d || d - s > 3) continue;
    if (s > 0) {
      const before = text.charCodeAt(s - 1);
      if (isWord(before) || before === 46) continue;
    }
    out.push(s);
  }
  return out;
}

/**
 * `us-ssn`: `…\d{3}-\d{2}-\d{4}…`: every match has its first `-` 3 characters after its start,
 * 3 digits before that `-`, 2 digits and a `-` after it.
 */
export function ssnCandidates(text: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf('-', 3); i >= 0; i = text.indexOf('-', i + 1)) {
    if (
      text.charCodeAt(i + 3) === 45 &&
      isDigit(text.charCodeAt(i - 1)) &&
      isDigit(text.charCodeAt(i + 1)) &&
      isDigit(text.charCodeAt(i + 2)) &&
      isDigit(text.charCodeAt(i - 2)) &&
      isDigit(text.charCodeAt(i - 3))
    )
      out.push(i - 3);
  }
  return out;
}

// `[\d -]` by ASCII code.
const DIGIT_SPACE_DASH = new Uint8Array(128);
for (let c = 48; c <= 57; c++) DIGIT_SPACE_DASH[c] = 1;
DIGIT_SPACE_DASH[32] = 1;
DIGIT_SPACE_DASH[45] = 1;

const isDigitSpaceDash = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i);
  return c < 128 && DIGIT_SPACE_DASH[c] === 1;
};

/**
 * The maximal runs of digit / space / dash characters at least `min` long, as pairs `start, end`
 * in order. Each such run holds an offset `min - 1` more than a multiple of `min` (any `min`
 * consecutive offsets hold one), so only those offsets are read first and a run is grown from
 * there: in text without long runs, about one character in `min` is looked at, not every one.
 */
export function digitRuns(text: string, min: number): number[] {
  const out: number[] = [];
  let end = 0;
  for (let p = min - 1; p < text.length; p += min) {
    if (p < end || !isDigitSpaceDash(text, p)) continue;
    let a = p;
    while (a > 0 && isDigitSpaceDash(text, a - 1)) a--;
    let b = p + 1;
    while (b < text.length && isDigitSpaceDash(text, b)) b++;
    if (b - a >= min) out.push(a, b);
    end = b;
  }
  return out;
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
