/** One problem found in a policy file, located at a line, a column and a field path. */
export interface PolicyIssue {
  /** File name as given to the loader (`<inline>` for text without one). */
  file: string;
  /** 1-based line, when the problem can be located in the text. */
  line?: number;
  /** 1-based column. */
  column?: number;
  /** Field path: `tools["notes.write"].rule.roles[0]`; empty for the whole document. */
  path: string;
  /** What is wrong and what was expected. Never contains a secret value. */
  message: string;
  /** Stable kind, for scripts. */
  kind: 'syntax' | 'schema' | 'unknown-key' | 'inline-secret' | 'unknown-role' | 'reference' | 'semantic';
}

/**
 * A policy file that cannot be used: every problem found, each with file, line, column and path.
 * It is a `TypeError` because a bad policy is misconfiguration, found before serving.
 *
 * @example
 * ```ts
 * try { await loadPolicy('policy.yaml'); } catch (err) {
 *   if (err instanceof PolicyError) for (const i of err.issues) console.error(formatIssue(i));
 * }
 * ```
 */
export class PolicyError extends TypeError {
  override readonly name = 'PolicyError';
  constructor(readonly issues: readonly PolicyIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

/**
 * One issue as `file:line:column: path: message`, the shape editors and CI annotate.
 *
 * @example
 * ```ts
 * formatIssue({ file: 'p.yaml', line: 3, column: 5, path: 'server.owner', message: 'expected a string', kind: 'schema' });
 * // 'p.yaml:3:5: server.owner: expected a string'
 * ```
 */
export function formatIssue(issue: PolicyIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** `['tools', 'notes.write', 'rule', 0]` as `tools["notes.write"].rule[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      out += /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? (out ? `.${key}` : key) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}
