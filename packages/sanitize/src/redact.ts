import { createHash, createHmac } from 'node:crypto';
import {
  BUILTIN_RULES,
  type BuiltinRuleName,
  type Finding,
  type RedactionRule,
  type RedactionStrategy,
} from './rules.js';
import {
  AWS_SECRET_WORDS,
  assignmentCandidates,
  type CandidateFinder,
  emailCandidates,
  githubCandidates,
  HIGH_ENTROPY_WORDS,
  ipv4Candidates,
  ipv6Candidates,
  type ScanMemo,
  SECRET_KEY_WORDS,
  ssnCandidates,
  urlCredentialCandidates,
} from './scan.js';

const STRATEGIES: readonly RedactionStrategy[] = ['mask', 'partial', 'hash', 'remove'];

/**
 * Options of {@link redact}, {@link redactValue} and {@link createRedactor}.
 *
 * @example
 * ```ts
 * const options: RedactOptions = { rules: { ipv4: false }, strategy: 'hash', hashKey: process.env.REDACT_KEY };
 * ```
 */
export interface RedactOptions {
  /**
   * Built-in rules on or off, or with their own strategy (`{ ipv4: false, email: 'partial' }`).
   * Every built-in rule is on unless turned off here.
   */
  rules?: Partial<Record<BuiltinRuleName, boolean | RedactionStrategy>>;
  /** Extra rules, applied after the built-in ones. */
  custom?: readonly RedactionRule[];
  /** Default strategy. Default `mask` (`[REDACTED:<rule>]`). */
  strategy?: RedactionStrategy;
  /**
   * Key for the `hash` strategy (HMAC-SHA-256). Without a key, `hash` uses plain SHA-256, which
   * low-entropy values (phone numbers, SSNs) do not survive: set a key in production.
   */
  hashKey?: string | Uint8Array;
  /** Characters `partial` keeps at the end (default 4), never more than a quarter of the value. */
  partialKeep?: number;
}

/** Text after redaction, with the number of redactions per rule (never the values). */
export interface RedactResult {
  text: string;
  counts: Record<string, number>;
}

/** A JSON value after redaction, with counts per rule. */
export interface RedactValueResult<T> {
  value: T;
  counts: Record<string, number>;
}

/**
 * Internal (not exported from the package): redacts `text`, adding the redactions per rule to
 * `counts`; what `redact` does without its result object.
 */
export const REDACT_INTO: unique symbol = Symbol('redactInto');

/** A {@link Redactor} made by {@link createRedactor}, with its internal entry point. */
export interface InternalRedactor extends Redactor {
  [REDACT_INTO](
    text: string,
    counts: Record<string, number>,
    strategy?: RedactionStrategy | 'format',
  ): string;
}

/** A compiled set of rules; build once with {@link createRedactor} and reuse. */
export interface Redactor {
  /** Finds sensitive spans, non-overlapping and in order. */
  detect(text: string): Finding[];
  /** Redacts text. */
  redact(text: string, strategy?: RedactionStrategy | 'format'): RedactResult;
  /** Redacts every string inside a JSON value (object keys are kept); types are preserved. */
  redactValue<T>(value: T, strategy?: RedactionStrategy | 'format'): RedactValueResult<T>;
  /** Names of the active rules. */
  readonly ruleNames: readonly string[];
}

interface CompiledRule {
  name: string;
  /** `[REDACTED:<name>]`, the `mask` replacement, made once. */
  mask: string;
  pattern: RegExp;
  group: number | undefined;
  /**
   * Built-in rules only: characters every match has after its group (the group is always the end
   * of the match, or one `@` before it), so its span is read from the match without the `d` flag.
   */
  groupTail: number | undefined;
  validate: ((value: string) => boolean) | undefined;
  find: ((text: string) => Array<[number, number]>) | undefined;
  strategy: RedactionStrategy | undefined;
  order: number;
  /** Built-in rules only: false when the rule cannot match `text` (see {@link PREFILTERS}). */
  mayMatch: Prefilter | undefined;
  /** Built-in rules only: `HAS_*` bits every match contains (checked on short text). */
  needs: number;
  /** Built-in rules only: where a match can start (see {@link CANDIDATES}); `pattern` then runs sticky there. */
  candidates: CandidateFinder | undefined;
}

/** A cheap necessary condition for a rule to match `text` (`memo` is shared by one `detect`). */
type Prefilter = (text: string, memo: ScanMemo) => boolean;

// `bearer` in any ASCII case, as the `i` pattern of `bearer-token` reads it (no text lower-cased).
const BEARER = /bearer/i;

/**
 * `text.includes(literal)`, searched by the character at `pivot` (a rare one: a native search led
 * by a frequent character restarts at each of its occurrences).
 */
const hasLiteral = (text: string, literal: string, pivot: number): boolean => {
  const ch = literal[pivot]!;
  for (let i = text.indexOf(ch, pivot); i >= 0; i = text.indexOf(ch, i + 1)) {
    if (text.startsWith(literal, i - pivot)) return true;
  }
  return false;
};

const AWS_KEY_PREFIXES = new Set([
  'AKIA',
  'ASIA',
  'ABIA',
  'ACCA',
  'AGPA',
  'AIDA',
  'AROA',
  'ANPA',
  'ANVA',
  'AIPA',
]);

/** `aws-access-key-id`: every match starts with one of the prefixes (all `A..A`). */
function awsKeyIdCandidates(text: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf('A'); i >= 0; i = text.indexOf('A', i + 1)) {
    if (text.charCodeAt(i + 3) === 65 && AWS_KEY_PREFIXES.has(text.slice(i, i + 4))) out.push(i);
  }
  return out;
}

/**
 * Characters after the group in every match of the built-in rules with a group: the group ends
 * the match (`url-credentials`: one `@` follows it). Lets their pattern run without the `d` flag.
 */
const GROUP_TAIL: Readonly<Partial<Record<BuiltinRuleName, number>>> = {
  'aws-secret-access-key': 0,
  'url-credentials': 1,
  'bearer-token': 0,
  'secret-assignment': 0,
  'high-entropy-assignment': 0,
};

/**
 * Cheap necessary conditions for the built-in rules: each literal is one that every match of
 * the rule's pattern contains, so a text without it cannot hold a finding and the regex is not
 * run. The `i` pattern (`bearer-token`) is checked with a regex of the same flags, so letters
 * match the same way. Only attached to the built-in rules themselves, never to a custom rule.
 */
const PREFILTERS: Readonly<Record<BuiltinRuleName, Prefilter | undefined>> = {
  'private-key': (t) => t.includes('PRIVATE KEY'),
  'aws-access-key-id': undefined,
  // The rules with candidates (CANDIDATES) need no pre-check: their finders are exact and cheap.
  'aws-secret-access-key': undefined,
  'github-token': undefined,
  'gitlab-token': (t) => t.includes('gl'),
  'slack-token': (t) => t.includes('xox') || hasLiteral(t, 'hooks.slack.com', 3),
  'stripe-key': (t) => t.includes('_live_') || t.includes('_test_'),
  'google-api-key': (t) => t.includes('AIza'),
  jwt: (t) => hasLiteral(t, 'eyJ', 2),
  'url-credentials': (t) => t.includes('@') && t.includes('://'),
  'bearer-token': (t) => BEARER.test(t),
  'secret-assignment': undefined,
  'high-entropy-assignment': undefined,
  email: (t) => t.includes('@'),
  'payment-card': undefined,
  'us-ssn': (t) => t.includes('-'),
  iban: undefined,
  phone: undefined,
  ipv4: (t) => t.includes('.'),
  ipv6: (t) => {
    const first = t.indexOf(':');
    return first >= 0 && t.indexOf(':', first + 1) >= 0;
  },
};

// Characters (or kinds of characters) a text holds, as bits; see charBits.
const HAS_AT = 1;
const HAS_COLON = 2;
/** `=` or `:` */
const HAS_ASSIGN = 4;
const HAS_DOT = 8;
const HAS_DASH = 16;
const HAS_UNDERSCORE = 32;
const HAS_DIGIT = 64;
/** `A` */
const HAS_CAPITAL_A = 128;
/** `A`-`Z` */
const HAS_CAPITAL = 256;
/** `b` or `B` */
const HAS_LETTER_B = 512;

const ALL_BITS = 1023;

/** Up to this length, {@link charBits} (one pass) is cheaper than the rules' own pre-checks. */
const SHORT_TEXT = 128;

const BITS_OF_CHAR = new Uint16Array(128);
BITS_OF_CHAR[64] = HAS_AT;
BITS_OF_CHAR[58] = HAS_COLON | HAS_ASSIGN;
BITS_OF_CHAR[61] = HAS_ASSIGN;
BITS_OF_CHAR[46] = HAS_DOT;
BITS_OF_CHAR[45] = HAS_DASH;
BITS_OF_CHAR[95] = HAS_UNDERSCORE;
for (let c = 48; c <= 57; c++) BITS_OF_CHAR[c] = HAS_DIGIT;
for (let c = 65; c <= 90; c++) BITS_OF_CHAR[c] = HAS_CAPITAL;
BITS_OF_CHAR[65] = HAS_CAPITAL | HAS_CAPITAL_A;
BITS_OF_CHAR[66] = HAS_CAPITAL | HAS_LETTER_B;
BITS_OF_CHAR[98] = HAS_LETTER_B;

/** The `HAS_*` bits of the characters of `text`. */
function charBits(text: string): number {
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) bits |= BITS_OF_CHAR[c]!;
  }
  return bits;
}

/**
 * Characters every match of a built-in rule contains (its pattern or finder as shipped; the `i`
 * patterns only with `b`/`B` or non-letters): a short text without one of them cannot match.
 */
const NEEDS: Readonly<Record<BuiltinRuleName, number>> = {
  'private-key': HAS_DASH, // -----BEGIN … PRIVATE KEY-----
  'aws-access-key-id': HAS_CAPITAL_A, // AKIA, ASIA, …
  'aws-secret-access-key': HAS_ASSIGN, // key = / key:
  'github-token': HAS_UNDERSCORE, // gh?_, github_pat_
  'gitlab-token': HAS_DASH, // glpat-, …
  'slack-token': 0,
  'stripe-key': HAS_UNDERSCORE, // sk_live_
  'google-api-key': HAS_CAPITAL_A, // AIza
  jwt: HAS_DOT, // eyJ….eyJ….
  'url-credentials': HAS_COLON | HAS_AT, // scheme://user:pass@
  'bearer-token': HAS_LETTER_B, // bearer (any case)
  'secret-assignment': HAS_ASSIGN,
  'high-entropy-assignment': HAS_ASSIGN,
  email: HAS_AT | HAS_DOT,
  'payment-card': HAS_DIGIT,
  'us-ssn': HAS_DIGIT | HAS_DASH,
  iban: HAS_DIGIT | HAS_CAPITAL, // [A-Z]{2}\d{2}
  phone: HAS_DIGIT,
  ipv4: HAS_DIGIT | HAS_DOT,
  ipv6: HAS_COLON, // two or more
};

/**
 * Built-in rules whose pattern is run only at the offsets a literal in the text allows (see
 * scan.ts), instead of being tried from every offset.
 */
const CANDIDATES: Readonly<Partial<Record<BuiltinRuleName, CandidateFinder>>> = {
  'aws-access-key-id': awsKeyIdCandidates,
  'aws-secret-access-key': assignmentCandidates(AWS_SECRET_WORDS),
  'github-token': githubCandidates,
  'url-credentials': urlCredentialCandidates,
  'secret-assignment': assignmentCandidates(SECRET_KEY_WORDS),
  'high-entropy-assignment': assignmentCandidates(HIGH_ENTROPY_WORDS),
  email: emailCandidates,
  'us-ssn': ssnCandidates,
  ipv4: ipv4Candidates,
  ipv6: ipv6Candidates,
};

// The rules' pattern and finder objects as shipped: a built-in rule changed at run time gets no prefilter.
const SHIPPED = new Map<string, { pattern: RegExp; find: unknown }>(
  BUILTIN_RULES.map((r) => [r.name, { pattern: r.pattern, find: 'find' in r ? r.find : undefined }]),
);

function isShipped(rule: (typeof BUILTIN_RULES)[number]): boolean {
  const shipped = SHIPPED.get(rule.name);
  const find = 'find' in rule ? rule.find : undefined;
  return shipped !== undefined && shipped.pattern === rule.pattern && shipped.find === find;
}

function compileRule(
  rule: RedactionRule,
  strategy: RedactionStrategy | undefined,
  order: number,
  mayMatch?: Prefilter,
  candidates?: CandidateFinder,
  groupTail?: number,
  needs = 0,
): CompiledRule {
  if (!rule || typeof rule.name !== 'string' || !/^[a-z0-9][a-z0-9_.-]{0,63}$/i.test(rule.name)) {
    throw new TypeError('redaction rule: name must be 1-64 letters, digits, ".", "_" or "-"');
  }
  if (!(rule.pattern instanceof RegExp) && typeof rule.find !== 'function') {
    throw new TypeError(`redaction rule ${rule.name}: pattern must be a RegExp`);
  }
  if (rule.strategy !== undefined && !STRATEGIES.includes(rule.strategy)) {
    throw new TypeError(`redaction rule ${rule.name}: unknown strategy`);
  }
  const flags = new Set(rule.pattern.flags);
  flags.add('g');
  if (rule.group !== undefined && groupTail === undefined) flags.add('d');
  flags.delete('y');
  // With candidates, the pattern is run anchored at each candidate offset.
  if (candidates) flags.add('y');
  return {
    name: rule.name,
    mask: `[REDACTED:${rule.name}]`,
    pattern: new RegExp(rule.pattern.source, [...flags].join('')),
    group: rule.group,
    groupTail: rule.group !== undefined ? groupTail : undefined,
    validate: rule.validate,
    find: rule.find,
    strategy: strategy ?? rule.strategy,
    order,
    mayMatch,
    needs,
    candidates,
  };
}

/** A finding before overlaps are merged; `order` is the rule's index in the redactor. */
interface RawFinding {
  start: number;
  end: number;
  order: number;
}

/**
 * Where the value (the group, or the whole match) of `match` at `at` starts; it ends at
 * {@link valueEnd}. A group that took no part in the match gives an empty span (rejected).
 */
function valueStart(rule: CompiledRule, match: RegExpExecArray, at: number): number {
  if (rule.group === undefined) return at;
  if (rule.groupTail !== undefined) {
    const value = match[rule.group];
    return value === undefined ? at + match[0].length : at + match[0].length - rule.groupTail - value.length;
  }
  const span = match.indices?.[rule.group];
  return span ? span[0] : at + match[0].length;
}

function valueEnd(rule: CompiledRule, match: RegExpExecArray, at: number): number {
  if (rule.group === undefined) return at + match[0].length;
  if (rule.groupTail !== undefined) {
    return match[rule.group] === undefined ? at + match[0].length : at + match[0].length - rule.groupTail;
  }
  const span = match.indices?.[rule.group];
  return span ? span[1] : at + match[0].length;
}

function ruleFindings(rule: CompiledRule, text: string, out: RawFinding[], memo: ScanMemo): void {
  if (rule.find) {
    for (const [start, end] of rule.find(text)) out.push({ start, end, order: rule.order });
    return;
  }
  const pattern = rule.pattern;
  if (rule.candidates) {
    candidateFindings(rule, text, out, memo);
    return;
  }
  pattern.lastIndex = 0;
  let match = pattern.exec(text);
  while (match !== null) {
    if (match[0].length === 0) pattern.lastIndex++;
    const start = valueStart(rule, match, match.index);
    const end = valueEnd(rule, match, match.index);
    if (end > start && (!rule.validate || rule.validate(text.slice(start, end)))) {
      out.push({ start, end, order: rule.order });
    } else if (match[0].length > 0) {
      // A rejected candidate may hide a real one that starts inside it (`...00 4111 1111 ...`).
      pattern.lastIndex = match.index + 1;
    }
    match = pattern.exec(text);
  }
}

/**
 * {@link ruleFindings} for a rule with candidate offsets: the same loop as a global scan, where
 * `next` plays `lastIndex` and the (sticky) pattern is tried only at candidates at or after it.
 * A global scan returns the leftmost offset >= lastIndex where the pattern matches, and every
 * offset where it can match is a candidate, so both yield the same matches in the same order.
 */
function candidateFindings(rule: CompiledRule, text: string, out: RawFinding[], memo: ScanMemo): void {
  const pattern = rule.pattern;
  const candidates = rule.candidates!(text, memo);
  let next = 0;
  for (let i = 0; i < candidates.length; i++) {
    const at = candidates[i]!;
    if (at < next) continue;
    pattern.lastIndex = at;
    if (rule.group === undefined) {
      // The value is the whole match: a sticky test leaves its end in lastIndex, no match array.
      if (!pattern.test(text)) continue;
      const end = pattern.lastIndex;
      next = end === at ? at + 1 : end;
      if (end > at && (!rule.validate || rule.validate(text.slice(at, end)))) {
        out.push({ start: at, end, order: rule.order });
      } else if (end > at) {
        next = at + 1;
      }
      continue;
    }
    const match = pattern.exec(text);
    if (match === null) continue;
    next = match[0].length === 0 ? at + 1 : at + match[0].length;
    const start = valueStart(rule, match, at);
    const end = valueEnd(rule, match, at);
    if (end > start && (!rule.validate || rule.validate(text.slice(start, end)))) {
      out.push({ start, end, order: rule.order });
    } else if (match[0].length > 0) {
      next = at + 1;
    }
  }
}

/** Does finding `a` come after `b`: by start, longest first, then by rule order. */
const after = (a: RawFinding, b: RawFinding): boolean =>
  a.start - b.start > 0 ||
  (a.start === b.start && (b.end - a.end > 0 || (a.end === b.end && a.order > b.order)));

const byPosition = (a: RawFinding, b: RawFinding): number =>
  a.start - b.start || b.end - b.start - (a.end - a.start) || a.order - b.order;

/**
 * Sorts findings by start, longest first, then rule order: an insertion sort for the usual handful
 * (each rule's findings are already in order), the native sort for many (insertion is quadratic).
 */
function sortFindings(all: RawFinding[]): void {
  if (all.length > 32) {
    all.sort(byPosition);
    return;
  }
  for (let j = 1; j < all.length; j++) {
    const f = all[j]!;
    let k = j - 1;
    while (k >= 0 && after(all[k]!, f)) {
      all[k + 1] = all[k]!;
      k--;
    }
    all[k + 1] = f;
  }
}

/**
 * The format-preserving mask: letters become x/X, digits 0, punctuation stays, so formats
 * (email, card layout, patterns) survive. Used when a plain mask would break an output schema.
 *
 * @example
 * ```ts
 * formatPreservingMask('Jane@example.com'); // 'Xxxx@xxxxxxx.xxx'
 * ```
 */
export function formatPreservingMask(value: string): string {
  return value.replace(/[a-z]/g, 'x').replace(/[A-Z]/g, 'X').replace(/\d/g, '0');
}

/**
 * Compiles rules once for repeated use.
 *
 * @example
 * ```ts
 * import { createRedactor } from '@mcp-harden/sanitize';
 * const redactor = createRedactor({ rules: { ipv4: false }, strategy: 'partial' });
 * redactor.redact('card 4111 1111 1111 1111').text; // 'card ***************1111'
 * ```
 */
export function createRedactor(options: RedactOptions = {}): Redactor {
  return createInternalRedactor(options);
}

/** {@link createRedactor}, typed with the internal entry point (for the middleware). */
export function createInternalRedactor(options: RedactOptions = {}): InternalRedactor {
  if (options.strategy !== undefined && !STRATEGIES.includes(options.strategy)) {
    throw new TypeError(`redact: strategy must be one of ${STRATEGIES.join(', ')}`);
  }
  const known = new Set<string>(BUILTIN_RULES.map((r) => r.name));
  for (const [name, setting] of Object.entries(options.rules ?? {})) {
    if (!known.has(name)) throw new TypeError(`redact: unknown built-in rule ${name}`);
    if (typeof setting !== 'boolean' && !STRATEGIES.includes(setting as RedactionStrategy)) {
      throw new TypeError(`redact: rule ${name} must be true, false or a strategy`);
    }
  }
  const partialKeep = options.partialKeep ?? 4;
  if (!Number.isInteger(partialKeep) || partialKeep < 0)
    throw new TypeError('redact: partialKeep must be an integer >= 0');
  const hashKey = options.hashKey;
  if (hashKey !== undefined && (typeof hashKey === 'string' ? hashKey.length : hashKey.byteLength) < 16) {
    throw new TypeError('redact: hashKey must be at least 16 bytes');
  }
  const defaultStrategy = options.strategy ?? 'mask';
  const rules: CompiledRule[] = [];
  for (const rule of BUILTIN_RULES) {
    const setting = options.rules?.[rule.name];
    if (setting === false) continue;
    const shipped = isShipped(rule);
    rules.push(
      compileRule(
        rule,
        typeof setting === 'string' ? setting : undefined,
        rules.length,
        shipped ? PREFILTERS[rule.name] : undefined,
        shipped ? CANDIDATES[rule.name] : undefined,
        shipped && 'group' in rule && rule.group === 1 ? GROUP_TAIL[rule.name] : undefined,
        shipped ? NEEDS[rule.name] : 0,
      ),
    );
  }
  const names = new Set(rules.map((r) => r.name));
  for (const rule of options.custom ?? []) {
    const compiled = compileRule(rule, undefined, rules.length);
    if (names.has(compiled.name)) throw new TypeError(`redact: duplicate rule name ${compiled.name}`);
    names.add(compiled.name);
    rules.push(compiled);
  }

  const digest = (value: string): string =>
    (hashKey === undefined ? createHash('sha256') : createHmac('sha256', hashKey))
      .update(value)
      .digest('hex')
      .slice(0, 16);

  const replacement = (rule: string, value: string, strategy: RedactionStrategy | 'format'): string => {
    switch (strategy) {
      case 'remove':
        return '';
      case 'hash':
        return `[REDACTED:${rule}#${digest(value)}]`;
      case 'partial': {
        const keep = Math.min(partialKeep, Math.floor(value.length / 4));
        return '*'.repeat(value.length - keep) + value.slice(value.length - keep);
      }
      case 'format':
        return formatPreservingMask(value);
      default:
        return `[REDACTED:${rule}]`;
    }
  };

  /** Findings in order, overlapping ones merged into one span (named after the first). */
  const spans = (text: string): RawFinding[] => {
    const all: RawFinding[] = [];
    if (text.length === 0) return all;
    const memo: ScanMemo = { assignmentEnds: undefined };
    // Short text: one pass notes which characters it holds, and rules missing one they need are skipped.
    const has = text.length <= SHORT_TEXT ? charBits(text) : ALL_BITS;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if ((rule.needs & has) !== rule.needs) continue;
      if (rule.mayMatch !== undefined && !rule.mayMatch(text, memo)) continue;
      ruleFindings(rule, text, all, memo);
    }
    if (all.length < 2) return all;
    sortFindings(all);
    // Merged in place, so no part of any overlapping finding survives.
    let kept = 0;
    for (let i = 1; i < all.length; i++) {
      const f = all[i]!;
      const last = all[kept]!;
      if (f.start < last.end) {
        if (f.end > last.end) last.end = f.end;
        continue;
      }
      all[++kept] = f;
    }
    all.length = kept + 1;
    return all;
  };

  const detect = (text: string): Finding[] => {
    const found = spans(text);
    const out: Finding[] = new Array(found.length);
    for (let i = 0; i < found.length; i++) {
      const f = found[i]!;
      out[i] = { rule: rules[f.order]!.name, start: f.start, end: f.end };
    }
    return out;
  };

  const redactText = (
    text: string,
    counts: Record<string, number>,
    strategy?: RedactionStrategy | 'format',
  ) => {
    const findings = spans(text);
    if (findings.length === 0) return text;
    let out = '';
    let last = 0;
    for (let i = 0; i < findings.length; i++) {
      const f = findings[i]!;
      const rule = rules[f.order]!;
      out += text.slice(last, f.start);
      const how = strategy ?? rule.strategy ?? defaultStrategy;
      out += how === 'mask' ? rule.mask : replacement(rule.name, text.slice(f.start, f.end), how);
      last = f.end;
      counts[rule.name] = (counts[rule.name] ?? 0) + 1;
    }
    return out + text.slice(last);
  };

  const walk = (
    value: unknown,
    counts: Record<string, number>,
    strategy?: RedactionStrategy | 'format',
  ): unknown => {
    if (typeof value === 'string') return redactText(value, counts, strategy);
    if (Array.isArray(value)) return value.map((v) => walk(v, counts, strategy));
    if (typeof value === 'object' && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, counts, strategy);
      return out;
    }
    return value;
  };

  const redactor: Redactor = {
    detect,
    redact(text, strategy) {
      const counts: Record<string, number> = {};
      return { text: redactText(String(text), counts, strategy), counts };
    },
    redactValue<T>(value: T, strategy?: RedactionStrategy | 'format') {
      const counts: Record<string, number> = {};
      return { value: walk(value, counts, strategy) as T, counts };
    },
    ruleNames: rules.map((r) => r.name),
  };
  // Not enumerable: the redactor's own keys stay the public ones.
  return Object.defineProperty(redactor, REDACT_INTO, { value: redactText }) as InternalRedactor;
}

const defaultRedactors = new WeakMap<RedactOptions, Redactor>();
let plainRedactor: Redactor | undefined;

function redactorFor(options: RedactOptions | undefined): Redactor {
  if (options === undefined) {
    plainRedactor ??= createRedactor();
    return plainRedactor;
  }
  let redactor = defaultRedactors.get(options);
  if (!redactor) {
    redactor = createRedactor(options);
    defaultRedactors.set(options, redactor);
  }
  return redactor;
}

/**
 * Redacts secrets and PII in a string with the built-in rules (all on by default).
 *
 * @example
 * ```ts
 * import { redact } from '@mcp-harden/sanitize';
 * redact('password=hunter22 mail jane@example.com').text;
 * // 'password=[REDACTED:secret-assignment] mail [REDACTED:email]'
 * ```
 */
export function redact(text: string, options?: RedactOptions): RedactResult {
  return redactorFor(options).redact(text);
}

/**
 * Redacts every string in a JSON value; numbers, booleans, keys and structure are kept.
 *
 * @example
 * ```ts
 * import { redactValue } from '@mcp-harden/sanitize';
 * redactValue({ user: { email: 'jane@example.com' }, n: 1 }).value;
 * // { user: { email: '[REDACTED:email]' }, n: 1 }
 * ```
 */
export function redactValue<T>(value: T, options?: RedactOptions): RedactValueResult<T> {
  return redactorFor(options).redactValue(value);
}
