/**
 * The `_meta` key a caller may send on `tools/call` to state the version it expects; also set on
 * every result and `tools/list` entry of a versioned tool.
 *
 * @example
 * ```ts
 * await client.callTool({ name: 'search', arguments: { query: 'x' }, _meta: { [VERSION_META_KEY]: '2.0.0' } });
 * ```
 */
export const VERSION_META_KEY = 'mcp-harden/version';
/**
 * The `_meta` key (in `tools/list` and in results) that carries a {@link DeprecationNotice}.
 *
 * @example
 * ```ts
 * const notice = result._meta?.[DEPRECATION_META_KEY]; // { tool, version, notice, sunset?, replacement? }
 * ```
 */
export const DEPRECATION_META_KEY = 'mcp-harden/deprecation';
/**
 * The `_meta` key (in `tools/list`) naming the tool a version belongs to.
 *
 * @example
 * ```ts
 * tools.filter((t) => t._meta?.[TOOL_META_KEY] === 'search'); // every version of search
 * ```
 */
export const TOOL_META_KEY = 'mcp-harden/tool';
/**
 * The `_meta` key (in `tools/list`) that is true on the latest version's entries.
 *
 * @example
 * ```ts
 * tools.filter((t) => t._meta?.[LATEST_META_KEY] === true);
 * ```
 */
export const LATEST_META_KEY = 'mcp-harden/latest';

// Semantic version without build metadata; every character is valid in an MCP tool name.
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const TOOL_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * True when `version` is a semantic version (`1.2.3`, `2.0.0-beta.1`; no `+build`, since `+` is
 * not allowed in tool names).
 *
 * @example
 * ```ts
 * isSemver('2.0.0-beta.1'); // true
 * ```
 */
export function isSemver(version: string): boolean {
  return typeof version === 'string' && SEMVER.test(version);
}

/**
 * Orders two semantic versions (negative, zero, positive), with semver's pre-release rules.
 *
 * @example
 * ```ts
 * import { compareVersions } from '@mcp-harden/versioning';
 * ['2.0.0', '1.10.0', '1.2.0'].sort(compareVersions); // ['1.2.0', '1.10.0', '2.0.0']
 * ```
 */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (!pa || !pb) throw new TypeError(`not a semantic version: ${!pa ? a : b}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  const ra = pa[4];
  const rb = pb[4];
  if (ra === undefined || rb === undefined) return ra === rb ? 0 : ra === undefined ? 1 : -1;
  const xa = ra.split('.');
  const xb = rb.split('.');
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const x = xa[i];
    const y = xb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * The registered name of one version of a tool: `<name>.v<version>` (`search.v1.0.0`). It uses
 * only characters MCP allows in tool names; the bare name serves the latest version.
 *
 * @example
 * ```ts
 * import { versionedName } from '@mcp-harden/versioning';
 * versionedName('search', '1.0.0'); // 'search.v1.0.0'
 * ```
 */
export function versionedName(name: string, version: string): string {
  if (typeof name !== 'string' || !TOOL_NAME.test(name))
    throw new TypeError(`invalid tool name: ${String(name)}`);
  if (!isSemver(version)) throw new TypeError(`tool ${name}: ${String(version)} is not a semantic version`);
  const full = `${name}.v${version}`;
  if (full.length > 128) throw new TypeError(`tool name ${full} is longer than 128 characters`);
  return full;
}

/**
 * Splits a registered name into tool and version, or returns `undefined` for a bare name.
 *
 * @example
 * ```ts
 * import { parseVersionedName } from '@mcp-harden/versioning';
 * parseVersionedName('search.v1.0.0'); // { name: 'search', version: '1.0.0' }
 * ```
 */
export function parseVersionedName(registered: string): { name: string; version: string } | undefined {
  const m = /^(.+)\.v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(registered);
  if (!m || !isSemver(m[2]!)) return undefined;
  return { name: m[1]!, version: m[2]! };
}

/**
 * Registers one version of a tool under the name it is given, with the SDK's own `registerTool`
 * (so the SDK types the handler).
 *
 * @example
 * ```ts
 * const v1: RegisterToolVersion = (name) => server.registerTool(name, { inputSchema: { q: z.string() } }, searchV1);
 * ```
 */
export type RegisterToolVersion = (registeredName: string) => unknown;

/**
 * Registers every version of a tool: each version under `<name>.v<version>`, and the highest
 * version also under the bare name. Each callback registers its version with the SDK (an
 * `McpServer`'s `registerTool`, or `hardened.withPolicy(p).registerTool`), so the SDK keeps
 * typing configs and handlers. Returns the registered names, bare name first.
 *
 * @example
 * ```ts
 * import { registerToolVersions } from '@mcp-harden/versioning';
 * registerToolVersions('search', {
 *   '1.0.0': (name) => server.registerTool(name, { inputSchema: { q: z.string() } }, searchV1),
 *   '2.0.0': (name) => server.registerTool(name, { inputSchema: { query: z.string() } }, searchV2),
 * });
 * // registers search (2.0.0), search.v2.0.0 and search.v1.0.0
 * ```
 */
export function registerToolVersions(
  name: string,
  versions: Readonly<Record<string, RegisterToolVersion>>,
): string[] {
  if (typeof versions !== 'object' || versions === null) {
    throw new TypeError('registerToolVersions: versions must be an object of version -> register function');
  }
  const list = Object.keys(versions);
  if (list.length === 0) throw new TypeError(`registerToolVersions: tool ${name} needs at least one version`);
  for (const version of list) {
    versionedName(name, version);
    if (typeof versions[version] !== 'function') {
      throw new TypeError(`registerToolVersions: version ${version} of ${name} must be a function`);
    }
  }
  const ordered = list.sort(compareVersions).reverse();
  const names = [name, ...ordered.map((version) => versionedName(name, version))];
  versions[ordered[0]!]!(name);
  for (const version of ordered) versions[version]!(versionedName(name, version));
  return names;
}
