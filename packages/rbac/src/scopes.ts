/** Which scopes each scope implies, declared once: `{ 'notes:write': ['notes:read'] }`. */
export type ScopeHierarchy = Readonly<Record<string, readonly string[]>>;

/** Expands granted scopes to every scope they imply. */
export type ScopeExpander = (granted: readonly string[]) => ReadonlySet<string>;

function checkScope(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0 || /\s/.test(value)) {
    throw new TypeError(`rbac: ${where} must be a non-empty scope string without spaces`);
  }
  return value;
}

/**
 * Builds the transitive closure of a scope hierarchy. Throws `TypeError` on a cycle
 * (`a` implies `b` implies `a`) or on anything that is not a scope string.
 */
export function compileScopeHierarchy(hierarchy: ScopeHierarchy | undefined): ScopeExpander {
  if (hierarchy === undefined) return (granted) => new Set(granted);
  if (typeof hierarchy !== 'object' || hierarchy === null || Array.isArray(hierarchy)) {
    throw new TypeError('rbac: scopeHierarchy must be an object of scope -> implied scopes');
  }
  const edges = new Map<string, string[]>();
  for (const [scope, implied] of Object.entries(hierarchy)) {
    checkScope(scope, 'a scopeHierarchy key');
    if (!Array.isArray(implied))
      throw new TypeError(`rbac: scopeHierarchy["${scope}"] must be an array of scopes`);
    edges.set(
      scope,
      implied.map((s) => checkScope(s, `scopeHierarchy["${scope}"] entries`)),
    );
  }
  const closure = new Map<string, ReadonlySet<string>>();
  const visiting: string[] = [];
  const visit = (scope: string): ReadonlySet<string> => {
    const done = closure.get(scope);
    if (done) return done;
    const at = visiting.indexOf(scope);
    if (at >= 0) {
      throw new TypeError(`rbac: scopeHierarchy has a cycle: ${[...visiting.slice(at), scope].join(' -> ')}`);
    }
    visiting.push(scope);
    const all = new Set<string>([scope]);
    for (const next of edges.get(scope) ?? []) for (const s of visit(next)) all.add(s);
    visiting.pop();
    closure.set(scope, all);
    return all;
  };
  for (const scope of edges.keys()) visit(scope);
  return (granted) => {
    const out = new Set<string>();
    for (const scope of granted) {
      if (typeof scope !== 'string') continue;
      for (const s of closure.get(scope) ?? [scope]) out.add(s);
    }
    return out;
  };
}
