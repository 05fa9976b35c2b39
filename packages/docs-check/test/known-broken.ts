/**
 * Doc blocks that do not type-check today, reported to their owners. This is a ratchet, not an
 * opt-out: the docs test fails on any error outside this list AND on any listed block that now
 * passes (delete its entry then). Never add an entry to make a new error go away; fix the doc,
 * or mark a genuine fragment with `ts no-check` on its fence line.
 *
 * Empty since every block listed when the check was introduced was fixed; keep it empty.
 */
export interface KnownBroken {
  file: string;
  block: number;
  reason: string;
}

export const KNOWN_BROKEN: readonly KnownBroken[] = [];

/** Published packages that have no README yet (same ratchet: remove the entry once it exists). */
export const KNOWN_MISSING_README: readonly string[] = [];
