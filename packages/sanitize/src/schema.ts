import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { z } from 'zod';

/** A JSON Schema object, or a zod (v4) schema, describing tool arguments or structured output. */
export type SchemaLike = Record<string, unknown> | z.ZodType;

const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true, logger: false });
ajv.addFormat('email', /^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{2,}$/);
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/);
ajv.addFormat('ipv4', /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/);
ajv.addFormat('ipv6', { validate: (s: string) => /^[0-9a-f:.]{2,45}$/i.test(s) && s.includes(':') });
ajv.addFormat('uri', { validate: (s: string) => URL.canParse(s) });

const cache = new WeakMap<object, Map<boolean, ValidateFunction>>();

function isZod(schema: unknown): schema is z.ZodType {
  return typeof schema === 'object' && schema !== null && '_zod' in schema;
}

/** Adds `additionalProperties: false` to object schemas that list `properties` and say nothing else. */
function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (typeof schema !== 'object' || schema === null) return schema;
  const source = schema as Record<string, unknown>;
  const out: Record<string, unknown> = { ...source };
  if (source.properties && typeof source.properties === 'object') {
    const props: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(source.properties as Record<string, unknown>))
      props[k] = closeObjects(v);
    out.properties = props;
    if (source.additionalProperties === undefined && source.patternProperties === undefined) {
      out.additionalProperties = false;
    }
  }
  if (source.items !== undefined) out.items = closeObjects(source.items);
  if (Array.isArray(source.prefixItems)) out.prefixItems = source.prefixItems.map(closeObjects);
  if (typeof source.additionalProperties === 'object')
    out.additionalProperties = closeObjects(source.additionalProperties);
  for (const key of ['$defs', 'definitions']) {
    const defs = source[key];
    if (defs && typeof defs === 'object') {
      out[key] = Object.fromEntries(
        Object.entries(defs as Record<string, unknown>).map(([k, v]) => [k, closeObjects(v)]),
      );
    }
  }
  return out;
}

/**
 * Compiles a schema once (cached per schema object and strictness). `strict` refuses unknown
 * keys in every object schema that lists its properties. Throws `TypeError` on a bad schema.
 */
export function compileSchema(schema: SchemaLike, strict: boolean): ValidateFunction {
  if (typeof schema !== 'object' || schema === null)
    throw new TypeError('sanitize: a schema must be an object');
  let byStrict = cache.get(schema);
  const hit = byStrict?.get(strict);
  if (hit) return hit;
  let json: Record<string, unknown>;
  try {
    json = isZod(schema)
      ? (z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>)
      : { ...(schema as Record<string, unknown>) };
    delete json.$schema;
    delete json.$id;
    if (strict) json = closeObjects(json) as Record<string, unknown>;
  } catch (err) {
    throw new TypeError('sanitize: schema cannot be converted to JSON Schema', { cause: err });
  }
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(json);
  } catch (err) {
    throw new TypeError(`sanitize: invalid schema (${(err as Error).message})`, { cause: err });
  }
  if (!byStrict) {
    byStrict = new Map();
    cache.set(schema, byStrict);
  }
  byStrict.set(strict, validate);
  return validate;
}

/** Turns a JSON pointer (`/items/0/url`) into an argument path (`arguments.items[0].url`). */
export function pointerToPath(root: string, pointer: string, extra?: string): string {
  const parts =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return joinPath(root, parts);
}

/** Joins path segments: identifiers with `.`, indexes as `[n]`, other keys as `["key"]`. */
export function joinPath(root: string, parts: ReadonlyArray<string | number>): string {
  let out = root;
  for (const part of parts) {
    if (typeof part === 'number' || /^\d+$/.test(part)) out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]{0,63}$/.test(part)) out += `.${part}`;
    else out += `[${JSON.stringify(part.length > 64 ? `${part.slice(0, 61)}...` : part)}]`;
  }
  return out;
}
