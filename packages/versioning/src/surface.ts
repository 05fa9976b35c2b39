import type {
  JsonObject,
  ListPromptsResult,
  ListResourceTemplatesResult,
  ListToolsResult,
  PromptDefinition,
  ResourceTemplateDefinition,
  ToolDefinition,
} from '@mcp-harden/core';
import { canonicalize, fingerprint } from './canonical.js';

/**
 * The lock file format version this package reads and writes.
 *
 * @example
 * ```ts
 * captureSurface({ tools: [] }).lockfileVersion === LOCKFILE_VERSION; // true
 * ```
 */
export const LOCKFILE_VERSION = 1;

/** SHA-256 fingerprints (`sha256:<hex>`) of each part of a tool, each computed separately. */
export interface ToolFingerprints {
  name: string;
  title: string;
  description: string;
  inputSchema: string;
  outputSchema: string;
  annotations: string;
  _meta: string;
}

/** One tool in the lock: fingerprints plus the canonical parts the diff classifies. */
export interface LockedTool {
  fingerprints: ToolFingerprints;
  title?: string;
  description?: string;
  inputSchema: JsonObject;
  outputSchema?: JsonObject;
  annotations?: JsonObject;
  _meta?: JsonObject;
  /** True when the tool has an authorization rule; absent when that was not known at capture. */
  authorized?: boolean;
}

/** Fingerprints of each part of a prompt. */
export interface PromptFingerprints {
  name: string;
  title: string;
  description: string;
  arguments: string;
  _meta: string;
}

/** A prompt argument as listed by `prompts/list`. */
export interface PromptArgument {
  name: string;
  description?: string;
  required?: boolean;
}

/** One prompt in the lock. */
export interface LockedPrompt {
  fingerprints: PromptFingerprints;
  title?: string;
  description?: string;
  arguments?: PromptArgument[];
  _meta?: JsonObject;
}

/** Fingerprints of each part of a resource template. */
export interface ResourceTemplateFingerprints {
  name: string;
  uriTemplate: string;
  title: string;
  description: string;
  mimeType: string;
  annotations: string;
  _meta: string;
}

/** One resource template in the lock (keyed by its name). */
export interface LockedResourceTemplate {
  fingerprints: ResourceTemplateFingerprints;
  uriTemplate: string;
  title?: string;
  description?: string;
  mimeType?: string;
  annotations?: JsonObject;
  _meta?: JsonObject;
}

/** A change reviewed and accepted: `check` does not fail on it. */
export interface AcceptedChange {
  /** The change id printed by the report (`tool:search:argument-added-required:query`). */
  id: string;
  /** Why it was accepted (review link, ticket). */
  reason?: string;
}

/**
 * The content of `mcp-tools.lock.json`.
 *
 * @example
 * ```ts
 * const lock: ToolSurfaceLock = readLock(text);
 * lock.accepted.push({ id: 'tool:ping:removed', reason: 'PLAT-7' });
 * ```
 */
export interface ToolSurfaceLock {
  lockfileVersion: typeof LOCKFILE_VERSION;
  tools: Record<string, LockedTool>;
  prompts: Record<string, LockedPrompt>;
  resourceTemplates: Record<string, LockedResourceTemplate>;
  accepted: AcceptedChange[];
}

/**
 * Input of {@link captureSurface}: the plain JSON results of the three list requests.
 *
 * @example
 * ```ts
 * const input: SurfaceInput = { tools: await client.listTools(), authorizedTools: ['search'] };
 * ```
 */
export interface SurfaceInput {
  /** `tools/list` result, or its `tools` array. */
  tools?: ListToolsResult | readonly ToolDefinition[];
  /** `prompts/list` result, or its `prompts` array. */
  prompts?: ListPromptsResult | readonly PromptDefinition[];
  /** `resources/templates/list` result, or its `resourceTemplates` array. */
  resourceTemplates?: ListResourceTemplatesResult | readonly ResourceTemplateDefinition[];
  /**
   * Which tools have an authorization rule: a list of names or a predicate. When omitted,
   * `authorized` is not recorded and new tools count as having no rule.
   */
  authorizedTools?: Iterable<string> | ((toolName: string) => boolean);
}

function items<T>(value: unknown, key: string, what: string): T[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : (value as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(list)) throw new TypeError(`captureSurface: ${what} must be an array or a list result`);
  return list as T[];
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new TypeError(`${where} must be a string`);
  return value;
}

function optionalObject(value: unknown, where: string): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new TypeError(`${where} must be an object`);
  return canonicalize(value) as JsonObject;
}

function requireName(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new TypeError(`${where}.name must be a non-empty string`);
  return value;
}

function authorizationOf(option: SurfaceInput['authorizedTools']): ((name: string) => boolean) | undefined {
  if (option === undefined) return undefined;
  if (typeof option === 'function') return option;
  const names = new Set(option);
  return (name) => names.has(name);
}

/** Builds the lock entry of one tool. */
export function lockTool(tool: ToolDefinition, authorized?: boolean): LockedTool {
  const where = `tool ${JSON.stringify(tool?.name)}`;
  if (!isObject(tool)) throw new TypeError('captureSurface: a tool must be an object');
  const name = requireName(tool.name, where);
  const title = optionalString(tool.title, `${where}.title`);
  const description = optionalString(tool.description, `${where}.description`);
  const inputSchema = optionalObject(tool.inputSchema, `${where}.inputSchema`) ?? { type: 'object' };
  const outputSchema = optionalObject(tool.outputSchema, `${where}.outputSchema`);
  const annotations = optionalObject(tool.annotations, `${where}.annotations`);
  const meta = optionalObject(tool._meta, `${where}._meta`);
  const entry: LockedTool = {
    fingerprints: {
      name: fingerprint(name),
      title: fingerprint(title),
      description: fingerprint(description),
      inputSchema: fingerprint(inputSchema),
      outputSchema: fingerprint(outputSchema),
      annotations: fingerprint(annotations),
      _meta: fingerprint(meta),
    },
    inputSchema,
  };
  if (title !== undefined) entry.title = title;
  if (description !== undefined) entry.description = description;
  if (outputSchema !== undefined) entry.outputSchema = outputSchema;
  if (annotations !== undefined) entry.annotations = annotations;
  if (meta !== undefined) entry._meta = meta;
  if (authorized !== undefined) entry.authorized = authorized;
  return entry;
}

/** Builds the lock entry of one prompt. */
export function lockPrompt(prompt: PromptDefinition): LockedPrompt {
  if (!isObject(prompt)) throw new TypeError('captureSurface: a prompt must be an object');
  const where = `prompt ${JSON.stringify(prompt.name)}`;
  const name = requireName(prompt.name, where);
  const title = optionalString(prompt.title, `${where}.title`);
  const description = optionalString(prompt.description, `${where}.description`);
  let args: PromptArgument[] | undefined;
  if (prompt.arguments !== undefined && prompt.arguments !== null) {
    if (!Array.isArray(prompt.arguments)) throw new TypeError(`${where}.arguments must be an array`);
    args = prompt.arguments.map((arg, i) => {
      if (!isObject(arg)) throw new TypeError(`${where}.arguments[${i}] must be an object`);
      const out: PromptArgument = { name: requireName(arg.name, `${where}.arguments[${i}]`) };
      const d = optionalString(arg.description, `${where}.arguments[${i}].description`);
      if (d !== undefined) out.description = d;
      if (arg.required !== undefined) out.required = arg.required === true;
      return out;
    });
    args.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  const meta = optionalObject(prompt._meta, `${where}._meta`);
  const entry: LockedPrompt = {
    fingerprints: {
      name: fingerprint(name),
      title: fingerprint(title),
      description: fingerprint(description),
      arguments: fingerprint(args),
      _meta: fingerprint(meta),
    },
  };
  if (title !== undefined) entry.title = title;
  if (description !== undefined) entry.description = description;
  if (args !== undefined) entry.arguments = args;
  if (meta !== undefined) entry._meta = meta;
  return entry;
}

/** Builds the lock entry of one resource template. */
export function lockResourceTemplate(template: ResourceTemplateDefinition): LockedResourceTemplate {
  if (!isObject(template)) throw new TypeError('captureSurface: a resource template must be an object');
  const where = `resource template ${JSON.stringify(template.name)}`;
  const name = requireName(template.name, where);
  const uriTemplate = optionalString(template.uriTemplate, `${where}.uriTemplate`);
  if (uriTemplate === undefined) throw new TypeError(`${where}.uriTemplate must be a string`);
  const title = optionalString(template.title, `${where}.title`);
  const description = optionalString(template.description, `${where}.description`);
  const mimeType = optionalString(template.mimeType, `${where}.mimeType`);
  const annotations = optionalObject(template.annotations, `${where}.annotations`);
  const meta = optionalObject(template._meta, `${where}._meta`);
  const entry: LockedResourceTemplate = {
    fingerprints: {
      name: fingerprint(name),
      uriTemplate: fingerprint(uriTemplate),
      title: fingerprint(title),
      description: fingerprint(description),
      mimeType: fingerprint(mimeType),
      annotations: fingerprint(annotations),
      _meta: fingerprint(meta),
    },
    uriTemplate,
  };
  if (title !== undefined) entry.title = title;
  if (description !== undefined) entry.description = description;
  if (mimeType !== undefined) entry.mimeType = mimeType;
  if (annotations !== undefined) entry.annotations = annotations;
  if (meta !== undefined) entry._meta = meta;
  return entry;
}

function sortedRecord<T>(entries: Array<[string, T]>, what: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [key, value] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (Object.hasOwn(out, key))
      throw new TypeError(`captureSurface: duplicate ${what} ${JSON.stringify(key)}`);
    out[key] = value;
  }
  return out;
}

/**
 * Captures the tool surface of a server from the plain JSON results of `tools/list`,
 * `prompts/list` and `resources/templates/list`: the content of `mcp-tools.lock.json`
 * (fingerprints of each part, plus the canonical schemas the diff needs). Deterministic: the
 * same surface always gives the same lock.
 *
 * @example
 * ```ts
 * import { captureSurface } from '@mcp-harden/versioning';
 * const lock = captureSurface({
 *   tools: await client.listTools(),
 *   prompts: await client.listPrompts(),
 *   authorizedTools: ['search'],
 * });
 * ```
 */
export function captureSurface(input: SurfaceInput): ToolSurfaceLock {
  if (typeof input !== 'object' || input === null)
    throw new TypeError('captureSurface: input must be an object');
  const authorized = authorizationOf(input.authorizedTools);
  const tools = items<ToolDefinition>(input.tools, 'tools', 'tools').map(
    (tool) => [tool?.name, lockTool(tool, authorized?.(tool.name))] as [string, LockedTool],
  );
  const prompts = items<PromptDefinition>(input.prompts, 'prompts', 'prompts').map(
    (prompt) => [prompt?.name, lockPrompt(prompt)] as [string, LockedPrompt],
  );
  const templates = items<ResourceTemplateDefinition>(
    input.resourceTemplates,
    'resourceTemplates',
    'resourceTemplates',
  ).map((template) => [template?.name, lockResourceTemplate(template)] as [string, LockedResourceTemplate]);
  return {
    lockfileVersion: LOCKFILE_VERSION,
    tools: sortedRecord(tools, 'tool'),
    prompts: sortedRecord(prompts, 'prompt'),
    resourceTemplates: sortedRecord(templates, 'resource template'),
    accepted: [],
  };
}

/**
 * Anything that can list a server's surface: the official SDK `Client` fits as is (see
 * {@link listSurface} for an example). Methods a
 * server does not support may be left out, or reject with JSON-RPC `-32601`.
 */
export interface SurfaceLister {
  listTools?(params?: { cursor?: string }): Promise<ListToolsResult>;
  listPrompts?(params?: { cursor?: string }): Promise<ListPromptsResult>;
  listResourceTemplates?(params?: { cursor?: string }): Promise<ListResourceTemplatesResult>;
  /** When present, lists are only requested for the capabilities the server declared. */
  getServerCapabilities?(): { tools?: unknown; prompts?: unknown; resources?: unknown } | undefined;
}

/** Most pages followed per list, so a server that always returns a cursor cannot loop forever. */
const MAX_PAGES = 1000;

async function listAll<T>(
  fetchPage: (params?: { cursor?: string }) => Promise<JsonObject>,
  key: string,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    let result: JsonObject;
    try {
      result = await fetchPage(cursor === undefined ? undefined : { cursor });
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === -32601) return out;
      throw err;
    }
    const list = result[key];
    if (!Array.isArray(list)) throw new TypeError(`listing ${key}: the result has no ${key} array`);
    out.push(...(list as T[]));
    const next = result.nextCursor;
    if (typeof next !== 'string' || next.length === 0) return out;
    cursor = next;
  }
  throw new Error(`listing ${key}: more than ${MAX_PAGES} pages`);
}

/**
 * Lists everything a server exposes (following pagination) and returns the lists in the shape
 * {@link captureSurface} takes.
 *
 * @example
 * ```ts
 * import { captureSurface, listSurface } from '@mcp-harden/versioning';
 * const lock = captureSurface(await listSurface(client));
 * ```
 */
export async function listSurface(lister: SurfaceLister): Promise<SurfaceInput> {
  if (typeof lister !== 'object' || lister === null)
    throw new TypeError('listSurface: expected an object with listTools/listPrompts/...');
  const caps = lister.getServerCapabilities?.();
  const wants = (cap: 'tools' | 'prompts' | 'resources') => caps === undefined || caps[cap] !== undefined;
  const surface: SurfaceInput = {};
  if (lister.listTools && wants('tools')) {
    surface.tools = await listAll<ToolDefinition>(
      (p) => lister.listTools!(p) as Promise<JsonObject>,
      'tools',
    );
  }
  if (lister.listPrompts && wants('prompts')) {
    surface.prompts = await listAll<PromptDefinition>(
      (p) => lister.listPrompts!(p) as Promise<JsonObject>,
      'prompts',
    );
  }
  if (lister.listResourceTemplates && wants('resources')) {
    surface.resourceTemplates = await listAll<ResourceTemplateDefinition>(
      (p) => lister.listResourceTemplates!(p) as Promise<JsonObject>,
      'resourceTemplates',
    );
  }
  return surface;
}
