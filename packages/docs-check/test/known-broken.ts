/**
 * Doc blocks that do not type-check today, reported to their owners. This is a ratchet, not an
 * opt-out: the docs test fails on any error outside this list AND on any listed block that now
 * passes (delete its entry then). Never add an entry to make a new error go away; fix the doc,
 * or mark a genuine fragment with `ts no-check` on its fence line.
 */
export interface KnownBroken {
  file: string;
  block: number;
  reason: string;
}

export const KNOWN_BROKEN: readonly KnownBroken[] = [
  {
    file: 'docs/observability.md',
    block: 1,
    reason: 'pseudo-code (`audit(...)`, no imports): write it as real code or mark the fence `ts no-check`',
  },
  {
    file: 'packages/auth/README.md',
    block: 2,
    reason: '`harden` and `StdioServerTransport` are not imported; `options` is not declared',
  },
  {
    file: 'packages/http/README.md',
    block: 2,
    reason: '`createServer` is only defined in block 1; each block is its own module',
  },
  {
    file: 'packages/rbac/README.md',
    block: 2,
    reason:
      'an object type shown as a value: write `type AuthorizationDecision = {...}` or mark it `ts no-check`',
  },
];

/** Published packages that have no README yet (same ratchet: remove the entry once it exists). */
export const KNOWN_MISSING_README: readonly string[] = ['policy'];
