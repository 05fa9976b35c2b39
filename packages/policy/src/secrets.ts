import { BUILTIN_RULES, characterClasses, createRedactor, shannonEntropy } from '@mcp-harden/sanitize';

// The secret detectors of @mcp-harden/sanitize (PEM, JWT, cloud and SaaS key prefixes, credentials in URLs, ...).
const secretRules = Object.fromEntries(BUILTIN_RULES.map((r) => [r.name, r.category === 'secret'])) as Record<
  string,
  boolean
>;
let redactor: ReturnType<typeof createRedactor> | undefined;

const RUN = /[A-Za-z0-9+=]{20,}/g;
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
  // Runs of base64-ish characters between separators: paths and names split into short words.
  for (const run of value.match(RUN) ?? []) {
    if (characterClasses(run) >= 3 && shannonEntropy(run) >= 4) return 'high-entropy-string';
  }
  if (HEX.test(value)) return 'hex-string';
  return undefined;
}
