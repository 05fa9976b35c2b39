import {
  type CallToolResult,
  defineMiddleware,
  HardenError,
  type JsonObject,
  type ListToolsResult,
  type McpResult,
  type Middleware,
} from '@mcp-harden/core';
import {
  compareVersions,
  DEPRECATION_META_KEY,
  isSemver,
  LATEST_META_KEY,
  parseVersionedName,
  TOOL_META_KEY,
  VERSION_META_KEY,
  versionedName,
} from './versions.js';

declare module '@mcp-harden/core' {
  interface HardenState {
    /** Set by `@mcp-harden/versioning` when the called tool version is deprecated (or sunset). */
    deprecation?: { tool: string; version: string; sunset?: string; replacement?: string };
  }
}

/**
 * Deprecation of one tool version.
 *
 * @example
 * ```ts
 * const deprecated: DeprecationOptions = { sunset: '2026-06-30', replacement: 'search' };
 * ```
 */
export interface DeprecationOptions {
  /**
   * When calls stop working: an ISO 8601 date (`2026-06-30`, midnight UTC), a date-time with a
   * zone (`2026-06-30T12:00:00Z`), or a
   * `Date`. Calls at or after this instant are refused with `ERR_TOOL_SUNSET`. Omit for a
   * deprecation without an end date.
   */
  sunset?: string | Date;
  /** The tool name callers should move to (`search`, `search.v2.0.0`). */
  replacement?: string;
  /** Human-readable notice; a default is built from the other fields. */
  notice?: string;
}

/** One version of a tool, in {@link VersioningOptions}. */
export interface ToolVersionOptions {
  /** Marks this version deprecated. */
  deprecated?: DeprecationOptions;
}

/** The versions of one tool, in {@link VersioningOptions}. */
export interface VersionedToolOptions {
  /** Every registered version by semantic version; the highest is served under the bare name. */
  versions: Record<string, ToolVersionOptions>;
}

/**
 * Options of {@link versioning}.
 *
 * @example
 * ```ts
 * const options: VersioningOptions = { tools: { search: { versions: { '2.0.0': {} } } }, now: () => clock.now };
 * ```
 */
export interface VersioningOptions {
  /** Tools by bare name (the name the latest version is registered under). */
  tools: Record<string, VersionedToolOptions>;
  /** Clock, injectable for tests; defaults to `Date.now`. */
  now?: () => number | Date;
  /** Leave sunset versions out of `tools/list` (default `true`); calls to them are refused either way. */
  hideSunset?: boolean;
}

/** What the deprecation notice looks like in `tools/list` `_meta` and in result `_meta`. */
export interface DeprecationNotice {
  tool: string;
  version: string;
  notice: string;
  sunset?: string;
  replacement?: string;
}

interface ResolvedVersion {
  tool: string;
  version: string;
  latest: boolean;
  deprecation?: DeprecationNotice;
  sunsetAt?: number;
}

interface ResolvedTool {
  latest: string;
  versions: Map<string, ResolvedVersion>;
}

function parseSunset(value: string | Date, where: string): { iso: string; at: number } {
  const at =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)
        ? Date.parse(`${value}T00:00:00Z`)
        : typeof value === 'string' &&
            /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(at))
    throw new TypeError(`${where}.sunset must be an ISO 8601 date, a date-time with a zone, or a Date`);
  return { iso: typeof value === 'string' ? value : value.toISOString(), at };
}

function checkKeys(value: object, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new TypeError(`${where}: unknown option ${key}`);
  }
}

function resolveTools(tools: VersioningOptions['tools']): Map<string, ResolvedTool> {
  if (typeof tools !== 'object' || tools === null || Array.isArray(tools)) {
    throw new TypeError('versioning: options.tools must be an object of tool name -> { versions }');
  }
  const out = new Map<string, ResolvedTool>();
  for (const [tool, spec] of Object.entries(tools)) {
    const where = `versioning: tools.${tool}`;
    if (typeof spec !== 'object' || spec === null) throw new TypeError(`${where} must be an object`);
    checkKeys(spec, ['versions'], where);
    if (
      typeof spec.versions !== 'object' ||
      spec.versions === null ||
      Object.keys(spec.versions).length === 0
    ) {
      throw new TypeError(`${where}.versions must name at least one version`);
    }
    const names = Object.keys(spec.versions);
    for (const v of names) {
      if (!isSemver(v)) throw new TypeError(`${where}.versions: ${v} is not a semantic version`);
      versionedName(tool, v);
    }
    const latest = [...names].sort(compareVersions).at(-1)!;
    const versions = new Map<string, ResolvedVersion>();
    for (const version of names) {
      const vWhere = `${where}.versions.${version}`;
      const vSpec = spec.versions[version] ?? {};
      if (typeof vSpec !== 'object' || vSpec === null) throw new TypeError(`${vWhere} must be an object`);
      checkKeys(vSpec, ['deprecated'], vWhere);
      const resolved: ResolvedVersion = { tool, version, latest: version === latest };
      const d = vSpec.deprecated;
      if (d !== undefined) {
        const dWhere = `${vWhere}.deprecated`;
        if (typeof d !== 'object' || d === null) throw new TypeError(`${dWhere} must be an object`);
        checkKeys(d, ['sunset', 'replacement', 'notice'], dWhere);
        if (
          d.replacement !== undefined &&
          (typeof d.replacement !== 'string' || d.replacement.length === 0)
        ) {
          throw new TypeError(`${dWhere}.replacement must be a tool name`);
        }
        if (d.notice !== undefined && typeof d.notice !== 'string')
          throw new TypeError(`${dWhere}.notice must be a string`);
        const sunset = d.sunset === undefined ? undefined : parseSunset(d.sunset, dWhere);
        const notice =
          d.notice ??
          `${tool} ${version} is deprecated` +
            (sunset ? ` and stops working on ${sunset.iso}` : '') +
            (d.replacement ? `; use ${d.replacement} instead` : '') +
            '.';
        resolved.deprecation = { tool, version, notice };
        if (sunset) {
          resolved.deprecation.sunset = sunset.iso;
          resolved.sunsetAt = sunset.at;
        }
        if (d.replacement) resolved.deprecation.replacement = d.replacement;
      }
      versions.set(version, resolved);
    }
    out.set(tool, { latest, versions });
  }
  return out;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Tool versions side by side, deprecation and sunset. Callers reach the latest version by the bare
 * name (`search`) and pin an older one by its versioned name (`search.v1.0.0`, see
 * `registerToolVersions`). The middleware:
 * - adds `mcp-harden/tool`, `mcp-harden/version`, `mcp-harden/latest` and, for deprecated
 *   versions, `mcp-harden/deprecation` to each tool's `_meta` in `tools/list`, and leaves sunset
 *   versions out of the list;
 * - adds `mcp-harden/version` (and `mcp-harden/deprecation`) to every result's `_meta`, and sets
 *   `ctx.state.deprecation` for audit and telemetry;
 * - refuses calls at or after a version's sunset with `ERR_TOOL_SUNSET` naming the replacement;
 * - checks a `_meta['mcp-harden/version']` pin sent with `tools/call`: a call whose name resolves
 *   to another version is refused (`ERR_INVALID_PARAMS`, with the name to call in `data.call`).
 *
 * @example
 * ```ts
 * import { versioning } from '@mcp-harden/versioning';
 * const mw = versioning({
 *   tools: {
 *     search: {
 *       versions: {
 *         '1.0.0': { deprecated: { sunset: '2026-06-30', replacement: 'search' } },
 *         '2.0.0': {},
 *       },
 *     },
 *   },
 * });
 * ```
 */
export function versioning(options: VersioningOptions): Middleware {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('versioning: options are required');
  checkKeys(options, ['tools', 'now', 'hideSunset'], 'versioning');
  const tools = resolveTools(options.tools);
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError('versioning: options.now must be a function');
  }
  const clock = options.now ?? Date.now;
  const hideSunset = options.hideSunset ?? true;
  const now = () => {
    const t = clock();
    return t instanceof Date ? t.getTime() : t;
  };

  const resolve = (registered: string): ResolvedVersion | undefined => {
    const bare = tools.get(registered);
    if (bare) return bare.versions.get(bare.latest);
    const parsed = parseVersionedName(registered);
    return parsed ? tools.get(parsed.name)?.versions.get(parsed.version) : undefined;
  };
  const isSunset = (v: ResolvedVersion, at: number) => v.sunsetAt !== undefined && at >= v.sunsetAt;

  const metaFor = (v: ResolvedVersion, listing: boolean): JsonObject => {
    const meta: JsonObject = { [VERSION_META_KEY]: v.version };
    if (listing) {
      meta[TOOL_META_KEY] = v.tool;
      meta[LATEST_META_KEY] = v.latest;
    }
    if (v.deprecation) meta[DEPRECATION_META_KEY] = { ...v.deprecation };
    return meta;
  };

  return defineMiddleware('versioning', async function versioningMiddleware(ctx, next) {
    if (ctx.method === 'tools/list') {
      const result = (await next()) as ListToolsResult;
      if (!Array.isArray(result.tools)) return result;
      const at = now();
      const listed = [];
      for (const tool of result.tools) {
        const v = isObject(tool) && typeof tool.name === 'string' ? resolve(tool.name) : undefined;
        if (!v) {
          listed.push(tool);
          continue;
        }
        if (hideSunset && isSunset(v, at)) continue;
        listed.push({ ...tool, _meta: { ...(isObject(tool._meta) ? tool._meta : {}), ...metaFor(v, true) } });
      }
      return { ...result, tools: listed };
    }
    if (ctx.method !== 'tools/call' || ctx.target === undefined) return next();

    const v = resolve(ctx.target);
    if (!v) return next();
    const pin = ctx.meta?.[VERSION_META_KEY];
    if (pin !== undefined && pin !== v.version) {
      if (typeof pin !== 'string') {
        throw new HardenError('ERR_INVALID_PARAMS', `_meta.${VERSION_META_KEY} must be a version string`);
      }
      const tool = tools.get(v.tool)!;
      if (!tool.versions.has(pin)) {
        throw new HardenError('ERR_NOT_FOUND', `Tool ${v.tool} has no version ${pin}`, {
          data: { tool: v.tool, version: pin, versions: [...tool.versions.keys()].sort(compareVersions) },
        });
      }
      const call = versionedName(v.tool, pin);
      throw new HardenError(
        'ERR_INVALID_PARAMS',
        `${ctx.target} is version ${v.version}; call ${call} for version ${pin}`,
        {
          data: { tool: v.tool, version: pin, resolved: v.version, call },
        },
      );
    }
    if (v.deprecation) {
      const state: NonNullable<typeof ctx.state.deprecation> = { tool: v.tool, version: v.version };
      if (v.deprecation.sunset !== undefined) state.sunset = v.deprecation.sunset;
      if (v.deprecation.replacement !== undefined) state.replacement = v.deprecation.replacement;
      ctx.state.deprecation = state;
    }
    if (isSunset(v, now())) {
      const d = v.deprecation!;
      const data: Record<string, unknown> = { tool: v.tool, version: v.version, sunset: d.sunset };
      if (d.replacement !== undefined) data.replacement = d.replacement;
      throw new HardenError(
        'ERR_TOOL_SUNSET',
        `${v.tool} ${v.version} was retired on ${d.sunset}` + (d.replacement ? `; use ${d.replacement}` : ''),
        { data },
      );
    }
    const result = (await next()) as CallToolResult | McpResult;
    if (!isObject(result)) return result;
    return { ...result, _meta: { ...(isObject(result._meta) ? result._meta : {}), ...metaFor(v, false) } };
  });
}
