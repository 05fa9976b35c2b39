import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { rbac } from '@mcp-harden/rbac';
import { parseVersionedName, versioning } from '@mcp-harden/versioning';
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { formatPath, PolicyError, type PolicyIssue } from './errors.js';
import { rbacOptionsOf, versioningToolsOf } from './from-policy.js';
import { effectivePolicySchema, type PolicyDocument, policySchema, SECRET_REFERENCE } from './schema.js';
import { findSecret } from './secrets.js';

type Path = (string | number)[];

/** Options of {@link parsePolicy} and {@link loadPolicy}. */
export interface ParsePolicyOptions {
  /** Name used in error locations. Default `<inline>` (`loadPolicy` passes the path). */
  filename?: string;
  /** Environment whose `environments.<name>` overrides are merged over the base. Default: none. */
  environment?: string;
  /** Where `${env:NAME}` references are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Resolve `${env:...}` / `${file:...}` references. Default `true`; `validate` turns it off to
   * check a file on a machine that does not hold the secrets.
   */
  resolveReferences?: boolean;
}

/**
 * A validated policy: the document as written, the effective policy for the chosen environment
 * (overrides merged, references resolved), and where it came from.
 */
export interface LoadedPolicy {
  readonly filename: string;
  readonly environment: string | undefined;
  /** The file as written (validated), references unresolved. */
  readonly document: PolicyDocument;
  /** What `fromPolicy` and `explain` use: environment merged, references resolved. */
  readonly effective: EffectivePolicy;
  /** Environments declared in the file. */
  readonly environments: readonly string[];
}

/** A policy after environment merge (no `environments` key). */
export type EffectivePolicy = z.infer<typeof effectivePolicySchema>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Maps a field path to a line and column of the YAML/JSON text. */
class Locator {
  constructor(
    private readonly root: Node | null | undefined,
    private readonly lines: LineCounter,
  ) {}

  /** The deepest node on `path` (the key node when `key` names a key of that map). */
  at(path: readonly (string | number)[], key?: string): { line: number; column: number } | undefined {
    let node: unknown = this.root;
    let found: Node | undefined = isNode(node) ? node : undefined;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part),
        );
        if (!pair) break;
        node = pair.value;
        found = isNode(pair.value) ? pair.value : isNode(pair.key) ? pair.key : found;
      } else if (isSeq(node) && typeof part === 'number') {
        node = node.items[part];
        if (!isNode(node)) break;
        found = node;
      } else break;
    }
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
      if (pair && isNode(pair.key)) found = pair.key;
    }
    const offset = found?.range?.[0];
    if (offset === undefined) return undefined;
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }
}

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  expected?: string;
  errors?: ZodIssueLike[][];
}

/** Picks the most specific branch of a failed union (the one that got furthest). */
function flattenIssue(issue: ZodIssueLike): ZodIssueLike[] {
  if (issue.code !== 'invalid_union' || !issue.errors?.length) return [issue];
  const branches = issue.errors.filter((b) => b.length > 0);
  const deep = branches.filter((b) =>
    b.every((i) => i.path.length > 0 || (i.code !== 'invalid_type' && i.code !== 'invalid_value')),
  );
  if (deep.length === 1) {
    return deep[0]!.flatMap((i) => flattenIssue({ ...i, path: [...issue.path, ...i.path] }));
  }
  return [issue];
}

function describe(issue: ZodIssueLike): string {
  if (issue.code === 'invalid_union') {
    return 'Invalid value: none of the accepted forms matches (see the JSON Schema)';
  }
  return issue.message;
}

function schemaIssues(
  error: z.ZodError,
  file: string,
  locate: (path: Path, key?: string) => { line: number; column: number } | undefined,
  prefix: Path = [],
  mapPath: (path: Path) => Path = (p) => p,
): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  for (const raw of error.issues as unknown as ZodIssueLike[]) {
    for (const issue of flattenIssue(raw)) {
      const path = mapPath([...prefix, ...(issue.path as Path)]);
      if (issue.code === 'unrecognized_keys' && issue.keys) {
        for (const key of issue.keys) {
          out.push({
            file,
            ...locate(path, key),
            path: formatPath([...path, key]),
            message: `unknown key "${key}" (not allowed here; check the spelling against the JSON Schema)`,
            kind: 'unknown-key',
          });
        }
        continue;
      }
      out.push({ file, ...locate(path), path: formatPath(path), message: describe(issue), kind: 'schema' });
    }
  }
  return out;
}

/** Fields whose value is a secret: only references are accepted there. */
const SECRET_FIELDS = new Set(['redaction.hashKey', 'audit.argumentsDigestKey']);

function scanSecrets(
  value: unknown,
  path: Path,
  file: string,
  locate: (path: Path) => { line: number; column: number } | undefined,
  out: PolicyIssue[],
): void {
  if (typeof value === 'string') {
    if (SECRET_REFERENCE.test(value)) return;
    const key = path.length > 0 ? String(path[path.length - 1]) : '';
    const dotted = path.filter((p) => typeof p === 'string').join('.');
    const secretField = SECRET_FIELDS.has(dotted.replace(/^environments\.[^.]+\./, ''));
    const kind = findSecret(key, value);
    if (kind || secretField) {
      out.push({
        file,
        ...locate(path),
        path: formatPath(path),
        message: kind
          ? `looks like an inline secret (${kind}); secrets are never written in a policy file: use \${env:NAME} or \${file:/path}`
          : `a secret field takes a reference, not a literal: use \${env:NAME} or \${file:/path}`,
        kind: 'inline-secret',
      });
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) scanSecrets(v, [...path, i], file, locate, out);
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) scanSecrets(v, [...path, k], file, locate, out);
  }
}

/** Objects merged key by key, everything else (arrays included) replaced. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out;
}

function hasPath(value: unknown, path: Path): boolean {
  let node = value;
  for (const part of path) {
    if (Array.isArray(node) && typeof part === 'number') node = node[part];
    else if (isObject(node) && Object.hasOwn(node, part)) node = node[part as string];
    else return false;
  }
  return true;
}

function* rulesOf(rule: unknown, path: Path): Generator<[string, Path]> {
  if (!isObject(rule)) return;
  if (Array.isArray(rule.roles)) {
    for (const [i, role] of rule.roles.entries()) yield [String(role), [...path, 'roles', i]];
  }
  for (const key of ['all', 'any'] as const) {
    const list = rule[key];
    if (Array.isArray(list)) for (const [i, r] of list.entries()) yield* rulesOf(r, [...path, key, i]);
  }
}

/** Roles named anywhere must be declared once under `roles`. */
function checkRoles(
  policy: EffectivePolicy,
  file: string,
  locate: (path: Path) => { line: number; column: number } | undefined,
  mapPath: (path: Path) => Path,
): PolicyIssue[] {
  const declared = new Set(Object.keys(policy.roles ?? {}));
  const out: PolicyIssue[] = [];
  const report = (role: string, at: Path) => {
    if (declared.has(role)) return;
    const path = mapPath(at);
    const known = [...declared];
    out.push({
      file,
      ...locate(path),
      path: formatPath(path),
      message: `role "${role}" is not declared under roles (declared: ${known.length ? known.join(', ') : 'none'})`,
      kind: 'unknown-role',
    });
  };
  for (const kind of ['tools', 'resources', 'prompts'] as const) {
    for (const [name, target] of Object.entries(policy[kind] ?? {})) {
      for (const [role, at] of rulesOf(target.rule, [kind, name, 'rule'])) report(role, at);
    }
  }
  for (const [i, key] of (policy.authentication?.apiKeys?.keys ?? []).entries()) {
    for (const [j, role] of (key.roles ?? []).entries()) {
      report(role, ['authentication', 'apiKeys', 'keys', i, 'roles', j]);
    }
  }
  return out;
}

function semanticIssues(
  policy: EffectivePolicy,
  file: string,
  locate: (path: Path) => { line: number; column: number } | undefined,
  mapPath: (path: Path) => Path,
): PolicyIssue[] {
  const out = checkRoles(policy, file, locate, mapPath);
  const at = (path: Path, message: string) => {
    const mapped = mapPath(path);
    out.push({ file, ...locate(mapped), path: formatPath(mapped), message, kind: 'semantic' });
  };
  try {
    // The rules as rbac compiles them (URI templates, tenant options): what fromPolicy will build.
    rbac(rbacOptionsOf(policy));
  } catch (whole) {
    // Compile target by target to say which rule is at fault.
    const options = rbacOptionsOf(policy);
    const before = out.length;
    for (const kind of ['tools', 'resources', 'prompts'] as const) {
      for (const [name, rule] of Object.entries(options[kind] ?? {})) {
        try {
          rbac({ [kind]: { [name]: rule } });
        } catch (err) {
          const message = (err as Error).message.replace(/^rbac: /, '').replace(/^\w+\[".*?"\]: /, '');
          at([kind, name, 'rule'], message);
        }
      }
    }
    if (out.length === before) at(['authorization'], (whole as Error).message.replace(/^rbac: /, ''));
  }
  for (const [name, target] of Object.entries(policy.tools ?? {})) {
    const pinned = parseVersionedName(name);
    if (target.deprecation && target.version === undefined) {
      at(['tools', name, 'deprecation'], 'a deprecation needs the version it applies to (version: x.y.z)');
    }
    if (pinned && target.version !== undefined && pinned.version !== target.version) {
      at(['tools', name, 'version'], `must be ${pinned.version}, the version in the tool name`);
    }
  }
  try {
    const tools = versioningToolsOf(policy);
    if (tools) versioning({ tools });
  } catch (err) {
    at(['tools'], (err as Error).message.replace(/^versioning: /, ''));
  }
  const bearer = policy.authentication?.bearer;
  if (bearer && (bearer.jwksUrl === undefined) === (bearer.keysFile === undefined)) {
    at(['authentication', 'bearer'], 'give exactly one of jwksUrl or keysFile');
  }
  const limits = policy.rateLimit;
  if (limits && !Object.keys(limits.limits ?? {}).length && !Object.keys(limits.concurrency ?? {}).length) {
    at(['rateLimit'], 'set at least one limit (limits.<level>) or concurrency cap (concurrency.<level>)');
  }
  for (const kind of ['tools', 'resources', 'prompts'] as const) {
    for (const [name, target] of Object.entries(policy[kind] ?? {})) {
      if (target.rateLimit && !limits) {
        at(
          [kind, name, 'rateLimit'],
          'per-target rate limits need a top-level rateLimit section (limits or concurrency)',
        );
      }
    }
  }
  if (policy.timeouts?.maxMs !== undefined && policy.timeouts.maxMs < policy.timeouts.defaultMs) {
    at(['timeouts', 'maxMs'], 'must be at least defaultMs');
  }
  for (const kind of ['tools', 'resources', 'prompts'] as const) {
    for (const [name, target] of Object.entries(policy[kind] ?? {})) {
      const max = policy.timeouts?.maxMs ?? (policy.timeouts ? policy.timeouts.defaultMs * 10 : undefined);
      if (target.timeoutMs !== undefined && max !== undefined && target.timeoutMs > max) {
        at([kind, name, 'timeoutMs'], `must be at most ${max} (timeouts.maxMs)`);
      }
    }
  }
  return out;
}

function resolveReferences(
  value: unknown,
  path: Path,
  env: Readonly<Record<string, string | undefined>>,
  file: string,
  locate: (path: Path) => { line: number; column: number } | undefined,
  out: PolicyIssue[],
): unknown {
  if (typeof value === 'string') {
    if (!SECRET_REFERENCE.test(value)) return value;
    const inner = value.slice(2, -1);
    const fail = (message: string) => {
      out.push({ file, ...locate(path), path: formatPath(path), message, kind: 'reference' });
      return value;
    };
    if (inner.startsWith('env:')) {
      const name = inner.slice(4);
      const resolved = env[name];
      if (resolved === undefined || resolved === '') return fail(`environment variable ${name} is not set`);
      return resolved;
    }
    const target = inner.slice(5);
    if (!isAbsolute(target)) return fail(`file reference must be an absolute path`);
    try {
      return readFileSync(target, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      return fail(
        `cannot read referenced file ${target} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  if (Array.isArray(value))
    return value.map((v, i) => resolveReferences(v, [...path, i], env, file, locate, out));
  if (isObject(value)) {
    const result: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      result[k] = resolveReferences(v, [...path, k], env, file, locate, out);
    return result;
  }
  return value;
}

/**
 * Parses and validates a policy file's text (YAML or JSON). Every problem is collected and
 * thrown at once as a {@link PolicyError}, each located by file, line, column and field path.
 *
 * @example
 * ```ts
 * import { parsePolicy } from '@mcp-harden/policy';
 * const policy = parsePolicy(text, { filename: 'policy.yaml', environment: 'production' });
 * policy.effective.tools?.['notes.search']?.rule; // { scopes: ['notes:read'] }
 * ```
 */
export function parsePolicy(text: string, options: ParsePolicyOptions = {}): LoadedPolicy {
  const file = options.filename ?? '<inline>';
  if (typeof text !== 'string') throw new TypeError('parsePolicy: text must be a string');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return {
          file,
          ...(pos ? { line: pos.line, column: pos.col } : {}),
          path: '',
          message: `syntax error: ${message}`,
          kind: 'syntax' as const,
        };
      }),
    );
  }
  const locator = new Locator(doc.contents, lines);
  const locate = (path: Path, key?: string) => locator.at(path, key);
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!isObject(raw)) {
    throw new PolicyError([
      {
        file,
        line: 1,
        column: 1,
        path: '',
        message: 'a policy file must be a mapping (YAML) or an object (JSON)',
        kind: 'schema',
      },
    ]);
  }

  const issues: PolicyIssue[] = [];
  scanSecrets(raw, [], file, locate, issues);
  const base = policySchema.safeParse(raw);
  if (!base.success) {
    // A field already reported as an inline secret needs no second message about its form.
    const secretPaths = new Set(issues.map((i) => i.path));
    issues.push(...schemaIssues(base.error, file, locate).filter((i) => !secretPaths.has(i.path)));
  }
  if (issues.length > 0 || !base.success) throw new PolicyError(issues);

  const document = base.data;
  const { environments = {}, ...baseData } = document;
  const names = Object.keys(environments);
  if (options.environment !== undefined && !names.includes(options.environment)) {
    throw new PolicyError([
      {
        file,
        ...locate(['environments']),
        path: 'environments',
        message: `environment "${options.environment}" is not declared (declared: ${names.join(', ') || 'none'})`,
        kind: 'semantic',
      },
    ]);
  }
  // The base and every environment must be valid: a bad production override fails in development too.
  let selected: EffectivePolicy | undefined;
  for (const env of [undefined, ...names]) {
    const overlay = env === undefined ? {} : environments[env]!;
    const mapPath = (path: Path): Path =>
      env !== undefined && hasPath(overlay, path) ? ['environments', env, ...path] : path;
    const merged = effectivePolicySchema.safeParse(deepMerge(baseData, overlay));
    if (!merged.success) {
      issues.push(...schemaIssues(merged.error, file, locate, [], mapPath));
      continue;
    }
    issues.push(...semanticIssues(merged.data, file, locate, mapPath));
    if (env === options.environment) selected = merged.data;
  }
  if (issues.length > 0 || !selected) throw new PolicyError(dedupe(issues));

  let effective = selected;
  if (options.resolveReferences !== false) {
    const env = options.env ?? process.env;
    const overlayPath = options.environment;
    const mapPath = (path: Path): Path =>
      overlayPath !== undefined && hasPath(environments[overlayPath], path)
        ? ['environments', overlayPath, ...path]
        : path;
    const refIssues: PolicyIssue[] = [];
    const resolved = resolveReferences(selected, [], env, file, (p) => locate(mapPath(p)), refIssues);
    if (refIssues.length > 0) throw new PolicyError(refIssues);
    // A resolved value must fit where the reference stood (an issuer URL, ...); secret fields take any string.
    const again = effectivePolicySchema.safeParse(resolved);
    if (!again.success) {
      const wrong = schemaIssues(again.error, file, locate, [], mapPath)
        .filter((i) => !SECRET_FIELDS.has(i.path))
        .map((i) => ({
          ...i,
          kind: 'reference' as const,
          message: `the referenced value is not valid here (${i.message})`,
        }));
      if (wrong.length > 0) throw new PolicyError(wrong);
    }
    effective = resolved as EffectivePolicy;
  }
  return Object.freeze({
    filename: file,
    environment: options.environment,
    document,
    effective,
    environments: names,
  });
}

function dedupe(issues: PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.line}:${i.column}:${i.path}:${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Reads and validates a policy file (YAML or JSON); see {@link parsePolicy}.
 *
 * @example
 * ```ts
 * import { fromPolicy, loadPolicy } from '@mcp-harden/policy';
 * const policy = await loadPolicy('./policy.yaml', { environment: process.env.DEPLOY_ENV });
 * const hardened = harden(server, fromPolicy(policy));
 * ```
 */
export async function loadPolicy(
  path: string,
  options: Omit<ParsePolicyOptions, 'filename'> = {},
): Promise<LoadedPolicy> {
  if (typeof path !== 'string' || path === '')
    throw new TypeError('loadPolicy: path must be a non-empty string');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PolicyError([
      {
        file: path,
        path: '',
        message: `cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        kind: 'syntax',
      },
    ]);
  }
  return parsePolicy(text, { ...options, filename: path });
}
