import { BUILTIN_RULES, characterClasses, createRedactor, shannonEntropy } from '@mcp-harden/sanitize';

// The secret detectors of @mcp-harden/sanitize (PEM, JWT, cloud and SaaS key prefixes, credentials in URLs, ...).
const secretRules = Object.fromEntries(BUILTIN_RULES.map((r) => [r.name, r.category === 'secret'])) as Record<
  string,
  boolean
>;
let redactor: ReturnType<typeof createRedactor> | undefined;

const TOKEN = /^[A-Za-z0-9+/=_~.-]{20,}$/;
const HEX = /(?:^|[^0-9a-fA-F:])([0-9a-fA-F]{32,})(?![0-9a-fA-F])/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Names the kind of secret `value` looks like (`jwt`, `private-key`, `high-entropy-string`, ...),
 * or `undefined`. `key` is the field name, which helps (`password: hunter2`).
 */
export function findSecret(key: string, value: string): string | undefined {
  redactor ??= createRedactor({ rules: secretRules });
  if (DIGEST.test(value)) return undefined;
  for (const text of [value, `${key}: ${value}`]) {
    const counts = redactor.redact(text).counts;
    const rule = Object.keys(counts).find((k) => (counts[k] ?? 0) > 0);
    if (rule) return rule;
  }
  if (TOKEN.test(value) && value.length >= 20 && characterClasses(value) >= 3 && shannonEntropy(value) >= 4) {
    // Readable identifiers (notes.search_v2, team-notes) rarely reach 4 bits a character with 3 classes.
    if (!/^[a-z]+(?:[._-][a-z0-9]+)*$/i.test(value)) return 'high-entropy-string';
  }
  if (HEX.test(value)) return 'hex-string';
  return undefined;
}
