import type { JsonObject } from '@mcp-harden/core';
import { canonicalJson, invisibleCharacters, stripInvisible } from './canonical.js';
import type {
  LockedPrompt,
  LockedResourceTemplate,
  LockedTool,
  PromptArgument,
  ToolSurfaceLock,
} from './surface.js';

/** How much a change matters to the agents that use the server. */
export type ChangeLevel = 'breaking' | 'risky' | 'compatible';

/** What kind of item changed. */
export type SurfaceItemKind = 'tool' | 'prompt' | 'resourceTemplate';

/** Stable codes of the changes the diff reports. */
export type ChangeCode =
  | 'removed'
  | 'added'
  | 'added-without-authorization'
  | 'authorization-removed'
  | 'argument-added-required'
  | 'argument-added-optional'
  | 'argument-removed'
  | 'argument-now-required'
  | 'argument-now-optional'
  | 'type-narrowed'
  | 'type-widened'
  | 'type-changed'
  | 'enum-value-removed'
  | 'enum-value-added'
  | 'constraint-narrowed'
  | 'constraint-widened'
  | 'additional-properties-closed'
  | 'schema-changed'
  | 'output-schema-removed'
  | 'output-schema-added'
  | 'output-field-removed'
  | 'output-field-added'
  | 'output-field-now-optional'
  | 'output-field-now-required'
  | 'output-type-changed'
  | 'output-type-narrowed'
  | 'output-enum-value-added'
  | 'output-enum-value-removed'
  | 'output-constraint-changed'
  | 'output-schema-changed'
  | 'description-changed'
  | 'title-changed'
  | 'meta-changed'
  | 'annotations-destructive'
  | 'annotations-not-read-only'
  | 'annotations-open-world'
  | 'annotations-changed'
  | 'uri-template-changed'
  | 'mime-type-changed';

/**
 * One classified change between the locked surface and the live one.
 *
 * @example
 * ```ts
 * // { id: 'tool:search:argument-added-required:tenant', level: 'breaking', code: 'argument-added-required', ... }
 * ```
 */
export interface SurfaceChange {
  /** Stable id, used in the lock's `accepted` list: `<kind>:<name>:<code>[:<path>]`. */
  id: string;
  level: ChangeLevel;
  kind: SurfaceItemKind;
  /** Tool, prompt or resource template name. */
  name: string;
  code: ChangeCode;
  /** Which part changed (`inputSchema`, `description`, ...); `item` when the whole item was added or removed. */
  part: string;
  /** Dotted path inside a schema (`filters.lang`, `tags[]`), when the change is inside one. */
  path?: string;
  /** One readable sentence. */
  message: string;
  /** True when the lock's `accepted` list names this change. */
  accepted: boolean;
}

/**
 * Result of {@link diffSurface}.
 *
 * @example
 * ```ts
 * const { ok, unaccepted } = diffSurface(lock, live);
 * ```
 */
export interface SurfaceDiff {
  changes: SurfaceChange[];
  /** Breaking and risky changes that the lock does not accept: what makes `check` fail. */
  unaccepted: SurfaceChange[];
  /** `accepted` ids of the lock that match no change (left over after a fix). */
  staleAccepted: string[];
  /** True when nothing breaking or risky is unaccepted. */
  ok: boolean;
  counts: Record<ChangeLevel, number>;
}

/** Options of {@link diffSurface}. */
export interface DiffOptions {
  /**
   * Tools known to have an authorization rule (in addition to `authorized: true` in the live
   * surface): a new tool is compatible with a rule and risky without one.
   */
  authorizedTools?: Iterable<string>;
}

type Emit = (code: ChangeCode, level: ChangeLevel, part: string, message: string, path?: string) => void;

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const quote = (path: string) => `\`${path}\``;
const at = (path: string) => (path === '' ? 'the schema root' : quote(path));
const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/** Describes a text change, noting when only invisible characters differ. */
function textChange(what: string, before: string | undefined, after: string | undefined): string {
  if (before !== undefined && after !== undefined && stripInvisible(before) === stripInvisible(after)) {
    const was = invisibleCharacters(before);
    const now = invisibleCharacters(after);
    const added = [...now];
    for (const c of was) {
      const i = added.indexOf(c);
      if (i >= 0) added.splice(i, 1);
    }
    const detail = added.length > 0 ? ` (added ${[...new Set(added)].join(', ')})` : '';
    return `${what} changed by invisible Unicode characters only${detail}`;
  }
  if (before === undefined) return `${what} added`;
  if (after === undefined) return `${what} removed`;
  return `${what} changed`;
}

// --- JSON Schema comparison -------------------------------------------------------------------

/** The set of JSON types a schema accepts, or `undefined` for "any". `integer` is within `number`. */
function typesOf(schema: JsonObject): Set<string> | undefined {
  const t = schema.type;
  if (typeof t === 'string') return new Set([t]);
  if (Array.isArray(t)) return new Set(t.filter((x): x is string => typeof x === 'string'));
  if (isObject(schema.properties)) return new Set(['object']);
  if (isObject(schema.items)) return new Set(['array']);
  return undefined;
}

function accepts(types: Set<string>, type: string): boolean {
  return types.has(type) || (type === 'integer' && types.has('number'));
}

/** -1: `a` narrower than `b`; 1: wider; 0: equal; NaN: unrelated. */
function compareTypes(a: Set<string> | undefined, b: Set<string> | undefined): number {
  if (a === undefined && b === undefined) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  const aInB = [...a].every((t) => accepts(b, t));
  const bInA = [...b].every((t) => accepts(a, t));
  if (aInB && bInA) return 0;
  if (aInB) return -1;
  if (bInA) return 1;
  return Number.NaN;
}

function enumOf(schema: JsonObject): unknown[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum;
  if ('const' in schema) return [schema.const];
  return undefined;
}

const LOWER_BOUNDS = ['minLength', 'minItems', 'minimum', 'exclusiveMinimum', 'minProperties'] as const;
const UPPER_BOUNDS = ['maxLength', 'maxItems', 'maximum', 'exclusiveMaximum', 'maxProperties'] as const;
const EXACT_CONSTRAINTS = ['pattern', 'format', 'multipleOf', 'uniqueItems'] as const;
const TEXT_KEYS = ['description', 'title'] as const;
const HANDLED = new Set<string>([
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'items',
  'additionalProperties',
  '$schema',
  ...LOWER_BOUNDS,
  ...UPPER_BOUNDS,
  ...EXACT_CONSTRAINTS,
  ...TEXT_KEYS,
]);

/** -1 narrowed, 1 widened, 0 same, NaN mixed. */
function compareConstraints(before: JsonObject, after: JsonObject): number {
  let narrowed = false;
  let widened = false;
  for (const key of LOWER_BOUNDS) {
    const a = before[key];
    const b = after[key];
    if (a === b) continue;
    if (typeof b === 'number' && (typeof a !== 'number' || b > a)) narrowed = true;
    else widened = true;
  }
  for (const key of UPPER_BOUNDS) {
    const a = before[key];
    const b = after[key];
    if (a === b) continue;
    if (typeof b === 'number' && (typeof a !== 'number' || b < a)) narrowed = true;
    else widened = true;
  }
  for (const key of EXACT_CONSTRAINTS) {
    const a = before[key];
    const b = after[key];
    if (same(a, b)) continue;
    if (b === undefined || b === false) widened = true;
    else narrowed = true;
  }
  if (narrowed && widened) return Number.NaN;
  return narrowed ? -1 : widened ? 1 : 0;
}

function requiredOf(schema: JsonObject): Set<string> {
  return new Set(Array.isArray(schema.required) ? schema.required.filter((x) => typeof x === 'string') : []);
}

/** Compares two JSON Schemas of tool input: anything a caller could send before must still be accepted. */
function compareInput(before: JsonObject, after: JsonObject, path: string, emit: Emit): void {
  if (same(before, after)) return;
  const part = 'inputSchema';
  const typeOrder = compareTypes(typesOf(after), typesOf(before));
  if (typeOrder < 0) emit('type-narrowed', 'breaking', part, `type of ${at(path)} narrowed`, path);
  else if (typeOrder > 0) emit('type-widened', 'compatible', part, `type of ${at(path)} widened`, path);
  else if (Number.isNaN(typeOrder))
    emit('type-changed', 'breaking', part, `type of ${at(path)} changed`, path);

  const enumBefore = enumOf(before);
  const enumAfter = enumOf(after);
  if (enumBefore === undefined && enumAfter !== undefined) {
    emit('type-narrowed', 'breaking', part, `${at(path)} now only accepts listed values`, path);
  } else if (enumBefore !== undefined && enumAfter === undefined) {
    emit('enum-value-added', 'compatible', part, `${at(path)} no longer restricted to listed values`, path);
  } else if (enumBefore !== undefined && enumAfter !== undefined) {
    const after = new Set(enumAfter.map((v) => canonicalJson(v)));
    const beforeSet = new Set(enumBefore.map((v) => canonicalJson(v)));
    const removed = [...beforeSet].filter((v) => !after.has(v));
    const added = [...after].filter((v) => !beforeSet.has(v));
    if (removed.length > 0) {
      emit(
        'enum-value-removed',
        'breaking',
        part,
        `${at(path)} no longer accepts ${removed.join(', ')}`,
        path,
      );
    }
    if (added.length > 0) {
      emit('enum-value-added', 'compatible', part, `${at(path)} also accepts ${added.join(', ')}`, path);
    }
  }

  const constraints = compareConstraints(before, after);
  if (constraints < 0 || Number.isNaN(constraints)) {
    emit('constraint-narrowed', 'breaking', part, `constraints on ${at(path)} narrowed`, path);
  } else if (constraints > 0) {
    emit('constraint-widened', 'compatible', part, `constraints on ${at(path)} relaxed`, path);
  }

  compareTexts(before, after, path, part, emit);

  const propsBefore = isObject(before.properties) ? before.properties : {};
  const propsAfter = isObject(after.properties) ? after.properties : {};
  const reqBefore = requiredOf(before);
  const reqAfter = requiredOf(after);
  for (const key of Object.keys(propsAfter).sort()) {
    const child = join(path, key);
    if (!(key in propsBefore)) {
      if (reqAfter.has(key)) {
        emit(
          'argument-added-required',
          'breaking',
          part,
          `argument ${quote(child)} added as required`,
          child,
        );
      } else {
        emit('argument-added-optional', 'compatible', part, `optional argument ${quote(child)} added`, child);
      }
      continue;
    }
    if (reqAfter.has(key) && !reqBefore.has(key)) {
      emit('argument-now-required', 'breaking', part, `argument ${quote(child)} is now required`, child);
    } else if (!reqAfter.has(key) && reqBefore.has(key)) {
      emit('argument-now-optional', 'compatible', part, `argument ${quote(child)} is now optional`, child);
    }
    const a = propsBefore[key];
    const b = propsAfter[key];
    if (isObject(a) && isObject(b)) compareInput(a, b, child, emit);
    else if (!same(a, b)) emit('schema-changed', 'risky', part, `schema of ${quote(child)} changed`, child);
  }
  for (const key of Object.keys(propsBefore).sort()) {
    if (!(key in propsAfter)) {
      const child = join(path, key);
      emit('argument-removed', 'breaking', part, `argument ${quote(child)} removed`, child);
    }
  }
  // A required name without a property schema still makes calls without it fail.
  for (const key of [...reqAfter].sort()) {
    if (!reqBefore.has(key) && !(key in propsAfter)) {
      const child = join(path, key);
      emit('argument-added-required', 'breaking', part, `argument ${quote(child)} added as required`, child);
    }
  }

  const apBefore = before.additionalProperties;
  const apAfter = after.additionalProperties;
  if (!same(apBefore, apAfter)) {
    if (apAfter === false) {
      emit(
        'additional-properties-closed',
        'breaking',
        part,
        `${at(path)} no longer accepts extra arguments`,
        path,
      );
    } else if (isObject(apBefore) && isObject(apAfter)) {
      compareInput(apBefore, apAfter, join(path, '*'), emit);
    } else if (apBefore === false) {
      emit('constraint-widened', 'compatible', part, `${at(path)} now accepts extra arguments`, path);
    } else {
      emit('schema-changed', 'risky', part, `extra-argument schema of ${at(path)} changed`, path);
    }
  }

  if (isObject(before.items) && isObject(after.items))
    compareInput(before.items, after.items, `${path}[]`, emit);
  else if (!same(before.items, after.items)) {
    emit('schema-changed', 'risky', part, `item schema of ${at(path)} changed`, path);
  }

  compareRest(before, after, path, part, 'schema-changed', emit);
}

/** Compares two output schemas: every field a consumer read before must still be there, as typed. */
function compareOutput(before: JsonObject, after: JsonObject, path: string, emit: Emit): void {
  if (same(before, after)) return;
  const part = 'outputSchema';
  const typeOrder = compareTypes(typesOf(after), typesOf(before));
  if (typeOrder < 0)
    emit('output-type-narrowed', 'compatible', part, `type of output ${at(path)} narrowed`, path);
  else if (typeOrder !== 0) {
    emit('output-type-changed', 'breaking', part, `type of output ${at(path)} changed or widened`, path);
  }
  const enumBefore = enumOf(before);
  const enumAfter = enumOf(after);
  if (enumBefore !== undefined || enumAfter !== undefined) {
    const a = new Set((enumBefore ?? []).map((v) => canonicalJson(v)));
    const b = new Set((enumAfter ?? []).map((v) => canonicalJson(v)));
    const added = enumBefore === undefined ? [] : [...b].filter((v) => !a.has(v));
    if (enumAfter === undefined || added.length > 0) {
      emit('output-enum-value-added', 'risky', part, `output ${at(path)} may return new values`, path);
    } else if (enumBefore === undefined || [...a].some((v) => !b.has(v))) {
      emit('output-enum-value-removed', 'compatible', part, `output ${at(path)} returns fewer values`, path);
    }
  }
  if (compareConstraints(before, after) !== 0) {
    emit('output-constraint-changed', 'risky', part, `constraints on output ${at(path)} changed`, path);
  }
  compareTexts(before, after, path, part, emit);
  const propsBefore = isObject(before.properties) ? before.properties : {};
  const propsAfter = isObject(after.properties) ? after.properties : {};
  const reqBefore = requiredOf(before);
  const reqAfter = requiredOf(after);
  for (const key of Object.keys(propsBefore).sort()) {
    const child = join(path, key);
    if (!(key in propsAfter)) {
      emit('output-field-removed', 'breaking', part, `output field ${quote(child)} removed`, child);
      continue;
    }
    if (reqBefore.has(key) && !reqAfter.has(key)) {
      emit(
        'output-field-now-optional',
        'breaking',
        part,
        `output field ${quote(child)} may now be absent`,
        child,
      );
    } else if (!reqBefore.has(key) && reqAfter.has(key)) {
      emit(
        'output-field-now-required',
        'compatible',
        part,
        `output field ${quote(child)} is now always present`,
        child,
      );
    }
    const a = propsBefore[key];
    const b = propsAfter[key];
    if (isObject(a) && isObject(b)) compareOutput(a, b, child, emit);
    else if (!same(a, b))
      emit('output-schema-changed', 'risky', part, `schema of output ${quote(child)} changed`, child);
  }
  for (const key of Object.keys(propsAfter).sort()) {
    if (!(key in propsBefore)) {
      const child = join(path, key);
      emit('output-field-added', 'compatible', part, `output field ${quote(child)} added`, child);
    }
  }
  if (isObject(before.items) && isObject(after.items))
    compareOutput(before.items, after.items, `${path}[]`, emit);
  else if (!same(before.items, after.items)) {
    emit('output-schema-changed', 'risky', part, `item schema of output ${at(path)} changed`, path);
  }
  if (!same(before.additionalProperties, after.additionalProperties)) {
    emit('output-schema-changed', 'risky', part, `extra fields of output ${at(path)} changed`, path);
  }
  compareRest(before, after, path, part, 'output-schema-changed', emit);
}

/** Descriptions inside schemas reach the model like tool descriptions do. */
function compareTexts(before: JsonObject, after: JsonObject, path: string, part: string, emit: Emit): void {
  for (const key of TEXT_KEYS) {
    const a = before[key];
    const b = after[key];
    if (same(a, b)) continue;
    const label = `${key} of ${path === '' ? part : quote(path)}`;
    const message = textChange(
      label,
      typeof a === 'string' ? a : undefined,
      typeof b === 'string' ? b : undefined,
    );
    emit(key === 'title' ? 'title-changed' : 'description-changed', 'risky', part, message, path);
  }
}

/** Keywords this diff does not interpret (`anyOf`, `$ref`, `default`, ...): any change is risky. */
function compareRest(
  before: JsonObject,
  after: JsonObject,
  path: string,
  part: string,
  code: ChangeCode,
  emit: Emit,
): void {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)].filter((k) => !HANDLED.has(k)));
  const changed = [...keys].sort().filter((k) => !same(before[k], after[k]));
  if (changed.length > 0) {
    emit(
      code,
      'risky',
      part,
      `${changed.join(', ')} of ${at(path)} changed (not classified: review it)`,
      path,
    );
  }
}

// --- annotations ---------------------------------------------------------------------------------

function readOnly(a: JsonObject | undefined): boolean {
  return a?.readOnlyHint === true;
}
/** MCP defaults: `destructiveHint` is true unless the tool is read-only or says otherwise. */
function destructive(a: JsonObject | undefined): boolean {
  return !readOnly(a) && a?.destructiveHint !== false;
}
function openWorld(a: JsonObject | undefined): boolean {
  return a?.openWorldHint !== false;
}

function compareAnnotations(before: JsonObject | undefined, after: JsonObject | undefined, emit: Emit): void {
  if (same(before, after)) return;
  const part = 'annotations';
  let classified = false;
  if (!destructive(before) && destructive(after)) {
    emit(
      'annotations-destructive',
      'risky',
      part,
      readOnly(before) ? 'moved from read-only to destructive' : 'now destructive',
    );
    classified = true;
  } else if (readOnly(before) && !readOnly(after)) {
    emit('annotations-not-read-only', 'risky', part, 'no longer read-only');
    classified = true;
  }
  if (!openWorld(before) && openWorld(after)) {
    emit('annotations-open-world', 'risky', part, 'now reaches an open world (openWorldHint)');
    classified = true;
  }
  const restBefore = {
    ...before,
    readOnlyHint: undefined,
    destructiveHint: undefined,
    openWorldHint: undefined,
  };
  const restAfter = {
    ...after,
    readOnlyHint: undefined,
    destructiveHint: undefined,
    openWorldHint: undefined,
  };
  const hintsOnlyNarrowed = !classified && !same(before, after);
  if (!same(restBefore, restAfter) || hintsOnlyNarrowed) {
    emit('annotations-changed', 'compatible', part, 'annotations changed');
  }
}

// --- items ----------------------------------------------------------------------------------------

function compareText(
  before: string | undefined,
  after: string | undefined,
  code: ChangeCode,
  part: string,
  emit: Emit,
): void {
  if (before === after) return;
  emit(code, 'risky', part, textChange(part, before, after));
}

function compareMeta(before: JsonObject | undefined, after: JsonObject | undefined, emit: Emit): void {
  if (same(before, after)) return;
  const strip = (v: unknown): unknown =>
    typeof v === 'string'
      ? stripInvisible(v)
      : Array.isArray(v)
        ? v.map(strip)
        : isObject(v)
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [stripInvisible(k), strip(x)]))
          : v;
  const invisibleOnly = before !== undefined && after !== undefined && same(strip(before), strip(after));
  emit(
    'meta-changed',
    'risky',
    '_meta',
    invisibleOnly ? '_meta changed by invisible Unicode characters only' : '_meta changed',
  );
}

function compareTool(before: LockedTool, after: LockedTool, emit: Emit): void {
  // Only when both captures knew the rules: a rule dropped from an existing tool widens access.
  if (before.authorized === true && after.authorized === false) {
    emit('authorization-removed', 'risky', 'item', 'no longer has an authorization rule');
  }
  if (same(before.fingerprints, after.fingerprints)) return;
  compareText(before.title, after.title, 'title-changed', 'title', emit);
  compareText(before.description, after.description, 'description-changed', 'description', emit);
  compareInput(before.inputSchema, after.inputSchema, '', emit);
  if (before.outputSchema && !after.outputSchema) {
    emit(
      'output-schema-removed',
      'breaking',
      'outputSchema',
      'output schema removed (no more structured content)',
    );
  } else if (!before.outputSchema && after.outputSchema) {
    emit('output-schema-added', 'compatible', 'outputSchema', 'output schema added');
  } else if (before.outputSchema && after.outputSchema) {
    compareOutput(before.outputSchema, after.outputSchema, '', emit);
  }
  compareAnnotations(before.annotations, after.annotations, emit);
  compareMeta(before._meta, after._meta, emit);
}

function promptArgs(prompt: LockedPrompt): Map<string, PromptArgument> {
  return new Map((prompt.arguments ?? []).map((a) => [a.name, a]));
}

function comparePrompt(before: LockedPrompt, after: LockedPrompt, emit: Emit): void {
  if (same(before.fingerprints, after.fingerprints)) return;
  compareText(before.title, after.title, 'title-changed', 'title', emit);
  compareText(before.description, after.description, 'description-changed', 'description', emit);
  const a = promptArgs(before);
  const b = promptArgs(after);
  for (const [name, arg] of b) {
    const old = a.get(name);
    if (!old) {
      if (arg.required) {
        emit(
          'argument-added-required',
          'breaking',
          'arguments',
          `argument ${quote(name)} added as required`,
          name,
        );
      } else {
        emit(
          'argument-added-optional',
          'compatible',
          'arguments',
          `optional argument ${quote(name)} added`,
          name,
        );
      }
      continue;
    }
    if (arg.required && !old.required) {
      emit('argument-now-required', 'breaking', 'arguments', `argument ${quote(name)} is now required`, name);
    } else if (!arg.required && old.required) {
      emit(
        'argument-now-optional',
        'compatible',
        'arguments',
        `argument ${quote(name)} is now optional`,
        name,
      );
    }
    if (old.description !== arg.description) {
      emit(
        'description-changed',
        'risky',
        'arguments',
        textChange(`description of argument ${quote(name)}`, old.description, arg.description),
        name,
      );
    }
  }
  for (const name of a.keys()) {
    if (!b.has(name))
      emit('argument-removed', 'breaking', 'arguments', `argument ${quote(name)} removed`, name);
  }
  compareMeta(before._meta, after._meta, emit);
}

function compareTemplate(before: LockedResourceTemplate, after: LockedResourceTemplate, emit: Emit): void {
  if (same(before.fingerprints, after.fingerprints)) return;
  if (before.uriTemplate !== after.uriTemplate) {
    emit(
      'uri-template-changed',
      'breaking',
      'uriTemplate',
      `URI template changed from ${before.uriTemplate} to ${after.uriTemplate}`,
    );
  }
  compareText(before.title, after.title, 'title-changed', 'title', emit);
  compareText(before.description, after.description, 'description-changed', 'description', emit);
  if (before.mimeType !== after.mimeType) {
    emit('mime-type-changed', 'risky', 'mimeType', `MIME type changed to ${after.mimeType ?? '(none)'}`);
  }
  if (!same(before.annotations, after.annotations)) {
    emit('annotations-changed', 'compatible', 'annotations', 'annotations changed');
  }
  compareMeta(before._meta, after._meta, emit);
}

const KIND_LABEL: Record<SurfaceItemKind, string> = {
  tool: 'tool',
  prompt: 'prompt',
  resourceTemplate: 'resource template',
};

/**
 * Compares the locked surface with the live one and classifies each change as breaking, risky
 * or compatible. Changes whose id is in `before.accepted` are marked accepted.
 *
 * @example
 * ```ts
 * import { diffSurface, readLock, captureSurface } from '@mcp-harden/versioning';
 * const diff = diffSurface(readLock(text), captureSurface(live));
 * if (!diff.ok) console.error(formatDiff(diff));
 * ```
 */
export function diffSurface(
  before: ToolSurfaceLock,
  after: ToolSurfaceLock,
  options: DiffOptions = {},
): SurfaceDiff {
  const authorized = new Set(options.authorizedTools ?? []);
  const changes: SurfaceChange[] = [];
  const accepted = new Set((before.accepted ?? []).map((a) => (typeof a === 'string' ? a : a.id)));
  const used = new Set<string>();
  const emitterFor =
    (kind: SurfaceItemKind, name: string): Emit =>
    (code, level, part, message, path) => {
      const id = `${kind}:${name}:${code}${path ? `:${path}` : ''}`;
      // Two changes with the same id (rare) are reported once.
      if (changes.some((c) => c.id === id)) return;
      const isAccepted = accepted.has(id) && level !== 'compatible';
      if (accepted.has(id)) used.add(id);
      const change: SurfaceChange = {
        id,
        level,
        kind,
        name,
        code,
        part,
        message: `${KIND_LABEL[kind]} ${quote(name)}: ${message}`,
        accepted: isAccepted,
      };
      if (path) change.path = path;
      changes.push(change);
    };

  const walk = <T>(
    kind: SurfaceItemKind,
    a: Record<string, T>,
    b: Record<string, T>,
    compare: (x: T, y: T, emit: Emit) => void,
    added: (name: string, item: T, emit: Emit) => void,
  ) => {
    const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const name of names) {
      const emit = emitterFor(kind, name);
      const x = Object.hasOwn(a, name) ? a[name] : undefined;
      const y = Object.hasOwn(b, name) ? b[name] : undefined;
      if (x !== undefined && y === undefined) emit('removed', 'breaking', 'item', 'removed');
      else if (x === undefined && y !== undefined) added(name, y, emit);
      else if (x !== undefined && y !== undefined) compare(x, y, emit);
    }
  };

  walk('tool', before.tools, after.tools, compareTool, (name, tool, emit) => {
    if (tool.authorized === true || authorized.has(name))
      emit('added', 'compatible', 'item', 'added, with an authorization rule');
    else emit('added-without-authorization', 'risky', 'item', 'added without an authorization rule');
  });
  walk('prompt', before.prompts, after.prompts, comparePrompt, (_name, _p, emit) =>
    emit('added', 'compatible', 'item', 'added'),
  );
  walk(
    'resourceTemplate',
    before.resourceTemplates,
    after.resourceTemplates,
    compareTemplate,
    (_n, _t, emit) => emit('added', 'compatible', 'item', 'added'),
  );

  const counts: Record<ChangeLevel, number> = { breaking: 0, risky: 0, compatible: 0 };
  for (const c of changes) counts[c.level]++;
  const unaccepted = changes.filter((c) => c.level !== 'compatible' && !c.accepted);
  return {
    changes,
    unaccepted,
    staleAccepted: [...accepted].filter((id) => !used.has(id)).sort(),
    ok: unaccepted.length === 0,
    counts,
  };
}

/**
 * A readable, multi-line report of a diff, grouped by level.
 *
 * @example
 * ```ts
 * import { formatDiff } from '@mcp-harden/versioning';
 * process.stdout.write(formatDiff(diff));
 * ```
 */
export function formatDiff(diff: SurfaceDiff): string {
  const lines: string[] = [];
  if (diff.changes.length === 0) lines.push('The tool surface matches the lock.');
  for (const level of ['breaking', 'risky', 'compatible'] as const) {
    const list = diff.changes.filter((c) => c.level === level);
    if (list.length === 0) continue;
    lines.push('', `${level.toUpperCase()} (${list.length})`);
    for (const c of list) {
      lines.push(`  ${c.accepted ? '✓ accepted ' : level === 'compatible' ? '' : '✗ '}${c.message}`);
      lines.push(`      id: ${c.id}`);
    }
  }
  if (diff.staleAccepted.length > 0) {
    lines.push(
      '',
      `Accepted ids that match no change (remove them from the lock): ${diff.staleAccepted.join(', ')}`,
    );
  }
  lines.push(
    '',
    diff.ok
      ? `OK: ${diff.counts.breaking} breaking, ${diff.counts.risky} risky, ${diff.counts.compatible} compatible; nothing unaccepted.`
      : `FAILED: ${diff.unaccepted.length} breaking or risky change(s) not accepted in the lock.`,
  );
  return `${lines.join('\n').replace(/^\n/, '')}\n`;
}
