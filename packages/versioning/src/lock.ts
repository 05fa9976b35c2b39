import { canonicalize } from './canonical.js';
import { type DiffOptions, diffSurface, formatDiff, type SurfaceDiff } from './diff.js';
import {
  type AcceptedChange,
  captureSurface,
  LOCKFILE_VERSION,
  lockPrompt,
  lockResourceTemplate,
  lockTool,
  type SurfaceInput,
  type ToolSurfaceLock,
} from './surface.js';

/**
 * The conventional lock file name, `mcp-tools.lock.json`.
 *
 * @example
 * ```ts
 * writeFileSync(LOCK_FILE_NAME, serializeLock(lock));
 * ```
 */
export const LOCK_FILE_NAME = 'mcp-tools.lock.json';

/**
 * A lock file that cannot be read: not JSON, wrong shape, an unknown version, or a stored part
 * that does not match its fingerprint (edited by hand). `path` names the offending field.
 *
 * @example
 * ```ts
 * try { readLock(text); } catch (err) { if (err instanceof LockFileError) console.error(err.path); }
 * ```
 */
export class LockFileError extends Error {
  override readonly name = 'LockFileError';
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(path === '' ? message : `${path}: ${message}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rebuild<T extends { fingerprints: object }>(
  section: string,
  name: string,
  stored: unknown,
  build: () => T,
): T {
  const path = `${section}.${name}`;
  if (!isObject(stored)) throw new LockFileError('must be an object', path);
  if (!isObject(stored.fingerprints)) throw new LockFileError('must be an object', `${path}.fingerprints`);
  let rebuilt: T;
  try {
    rebuilt = build();
  } catch (err) {
    throw new LockFileError((err as Error).message, path);
  }
  // Each stored part must still hash to its stored fingerprint: the lock is what reviewers approved.
  const fingerprints = rebuilt.fingerprints as Record<string, string>;
  for (const [part, value] of Object.entries(fingerprints)) {
    if (stored.fingerprints[part] !== value) {
      throw new LockFileError(
        'does not match the stored part (was the lock edited by hand?)',
        `${path}.fingerprints.${part}`,
      );
    }
  }
  return rebuilt;
}

/**
 * Reads and checks `mcp-tools.lock.json` (text or parsed JSON). Throws {@link LockFileError}
 * naming the field when the file is malformed or a stored part no longer matches its fingerprint.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { readLock } from '@mcp-harden/versioning';
 * const lock = readLock(readFileSync('mcp-tools.lock.json', 'utf8'));
 * ```
 */
export function readLock(source: string | unknown): ToolSurfaceLock {
  let data: unknown = source;
  if (typeof source === 'string') {
    try {
      data = JSON.parse(source);
    } catch (err) {
      throw new LockFileError(`not valid JSON (${(err as Error).message})`, '');
    }
  }
  if (!isObject(data)) throw new LockFileError('the lock must be a JSON object', '');
  if (data.lockfileVersion !== LOCKFILE_VERSION) {
    throw new LockFileError(
      `expected ${LOCKFILE_VERSION}, got ${JSON.stringify(data.lockfileVersion)}`,
      'lockfileVersion',
    );
  }
  const known = new Set(['lockfileVersion', 'tools', 'prompts', 'resourceTemplates', 'accepted']);
  for (const key of Object.keys(data)) if (!known.has(key)) throw new LockFileError('unknown key', key);
  const section = (key: string): Record<string, unknown> => {
    const value = data[key] ?? {};
    if (!isObject(value)) throw new LockFileError('must be an object', key);
    return value;
  };
  const tools: ToolSurfaceLock['tools'] = {};
  for (const [name, stored] of Object.entries(section('tools'))) {
    tools[name] = rebuild('tools', name, stored, () => {
      const s = stored as Record<string, unknown>;
      return lockTool(
        { ...s, name } as never,
        s.authorized === undefined ? undefined : s.authorized === true,
      );
    });
  }
  const prompts: ToolSurfaceLock['prompts'] = {};
  for (const [name, stored] of Object.entries(section('prompts'))) {
    prompts[name] = rebuild('prompts', name, stored, () =>
      lockPrompt({ ...(stored as object), name } as never),
    );
  }
  const resourceTemplates: ToolSurfaceLock['resourceTemplates'] = {};
  for (const [name, stored] of Object.entries(section('resourceTemplates'))) {
    resourceTemplates[name] = rebuild('resourceTemplates', name, stored, () =>
      lockResourceTemplate({ ...(stored as object), name } as never),
    );
  }
  const acceptedRaw = data.accepted ?? [];
  if (!Array.isArray(acceptedRaw)) throw new LockFileError('must be an array', 'accepted');
  const accepted: AcceptedChange[] = acceptedRaw.map((entry, i) => {
    if (typeof entry === 'string' && entry.length > 0) return { id: entry };
    if (isObject(entry) && typeof entry.id === 'string' && entry.id.length > 0) {
      if (entry.reason !== undefined && typeof entry.reason !== 'string') {
        throw new LockFileError('must be a string', `accepted[${i}].reason`);
      }
      return entry.reason === undefined ? { id: entry.id } : { id: entry.id, reason: entry.reason };
    }
    throw new LockFileError('must be a change id or { id, reason }', `accepted[${i}]`);
  });
  return { lockfileVersion: LOCKFILE_VERSION, tools, prompts, resourceTemplates, accepted };
}

/**
 * The text of a lock file: canonical key order, two-space indent, trailing newline, so the same
 * surface always gives byte-identical files that review well in diffs.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { captureSurface, serializeLock } from '@mcp-harden/versioning';
 * writeFileSync('mcp-tools.lock.json', serializeLock(captureSurface(surface)));
 * ```
 */
export function serializeLock(lock: ToolSurfaceLock): string {
  const { lockfileVersion, tools, prompts, resourceTemplates, accepted } = lock;
  // lockfileVersion first so a reader sees the format before anything else.
  const ordered = {
    lockfileVersion,
    tools: canonicalize(tools),
    prompts: canonicalize(prompts),
    resourceTemplates: canonicalize(resourceTemplates),
    accepted,
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/**
 * Raised by {@link assertSurfaceMatchesLock} in `refuse` mode; `diff` holds the changes.
 *
 * @example
 * ```ts
 * try { assertSurfaceMatchesLock(lock, live); } catch (err) { if (err instanceof SurfaceLockError) process.exit(1); }
 * ```
 */
export class SurfaceLockError extends Error {
  override readonly name = 'SurfaceLockError';
  constructor(readonly diff: SurfaceDiff) {
    super(`The live tool surface differs from the lock:\n${formatDiff(diff)}`);
  }
}

/**
 * Options of {@link assertSurfaceMatchesLock}.
 *
 * @example
 * ```ts
 * const options: AssertSurfaceOptions = { mode: 'warn', onWarning: (report) => log.warn(report) };
 * ```
 */
export interface AssertSurfaceOptions extends DiffOptions {
  /**
   * `refuse` (default) throws {@link SurfaceLockError} when a breaking or risky change is not
   * accepted; `warn` only reports it.
   */
  mode?: 'refuse' | 'warn';
  /** With `refuse`, also refuse on compatible changes (the lock must be exactly current). */
  strict?: boolean;
  /** Receives the report of any difference not refused; defaults to `console.warn`. */
  onWarning?: (report: string, diff: SurfaceDiff) => void;
}

/**
 * Compares the live surface with the lock at startup: throws (refuse mode) or warns when they
 * differ. Call it before connecting any transport.
 *
 * @example
 * ```ts
 * import { assertSurfaceMatchesLock, listSurface, readLock } from '@mcp-harden/versioning';
 * assertSurfaceMatchesLock(readLock(lockText), await listSurface(client), { mode: 'refuse' });
 * ```
 */
export function assertSurfaceMatchesLock(
  lock: ToolSurfaceLock,
  live: SurfaceInput | ToolSurfaceLock,
  options: AssertSurfaceOptions = {},
): SurfaceDiff {
  const mode = options.mode ?? 'refuse';
  if (mode !== 'refuse' && mode !== 'warn')
    throw new TypeError(`assertSurfaceMatchesLock: unknown mode ${String(mode)}`);
  const current =
    (live as ToolSurfaceLock).lockfileVersion === LOCKFILE_VERSION
      ? (live as ToolSurfaceLock)
      : captureSurface(live as SurfaceInput);
  const diff = diffSurface(lock, current, options);
  const refuse = mode === 'refuse' && (!diff.ok || (options.strict === true && diff.changes.length > 0));
  if (refuse) throw new SurfaceLockError(diff);
  if (diff.changes.length > 0 || diff.staleAccepted.length > 0) {
    (options.onWarning ?? ((report: string) => console.warn(report)))(formatDiff(diff), diff);
  }
  return diff;
}
