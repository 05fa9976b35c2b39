import {
  type ContentBlock,
  defineMiddleware,
  type HardenContext,
  HardenError,
  type JsonObject,
  type McpResult,
  type Middleware,
  type ToolDefinition,
} from '@mcp-harden/core';
import type { ArgumentGuard } from './guards.js';
import { createInternalRedactor, type InternalRedactor, REDACT_INTO, type RedactOptions } from './redact.js';
import type { RedactionStrategy } from './rules.js';
import { compileSchema, joinPath, pointerToPath, type SchemaLike } from './schema.js';
import { surelyFitsJson } from './size.js';
import type { SanitizePolicy } from './state.js';
import { addInjectionPatterns, fenceAsData, mayStrip, stripFound } from './text.js';
import { checkToolDefinitions, type ToolFinding } from './tools.js';

/** Structural limits on arguments, checked before anything else reads them. */
export interface InputLimits {
  /** Serialized size of all arguments in UTF-8 bytes. Default 1 MiB. */
  maxBytes: number;
  /** Nesting depth of objects and arrays. Default 16. */
  maxDepth: number;
  /** Items in one array. Default 1000. */
  maxArrayLength: number;
  /** UTF-16 length of one string. Default 65536. */
  maxStringLength: number;
  /** Keys in one object. Default 256. */
  maxKeys: number;
}

/**
 * Safe defaults of {@link InputLimits}.
 *
 * @example
 * ```ts
 * sanitize({ limits: { ...DEFAULT_LIMITS, maxStringLength: 4096 } });
 * ```
 */
export const DEFAULT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxBytes: 1_048_576,
  maxDepth: 16,
  maxArrayLength: 1000,
  maxStringLength: 65_536,
  maxKeys: 256,
});

/** Options of {@link guardInput}. */
export interface GuardInputOptions {
  /** Structural limits; unset fields keep {@link DEFAULT_LIMITS}. */
  limits?: Partial<InputLimits>;
  /** Input schemas by tool or prompt name (a policy's `sanitize.inputSchema` wins). */
  schemas?: Record<string, SchemaLike>;
  /** Refuse unknown argument keys for every target with a schema. Default `false`; a policy's `strict` wins. */
  strict?: boolean;
  /** Refuse calls of targets that have no schema. Default `false`. */
  requireSchema?: boolean;
  /** Guards by argument path (`url`, `files[*]`, `target.path`) for every target. */
  guards?: Record<string, ArgumentGuard>;
}

/** How instruction-like text in output is handled. */
export type InjectionMode = 'flag' | 'fence' | 'refuse' | 'off';

/** Options of {@link redactOutput}. */
export interface RedactOutputOptions extends RedactOptions {
  /** Output size cap in UTF-8 bytes of the serialized result; text is truncated with a notice. Default 1 MiB. */
  maxOutputBytes?: number;
  /** Remove invisible characters and ANSI escapes from output text. Default `true`. */
  stripInvisible?: boolean;
  /**
   * Injection phrasing in output: `flag` (default) marks `_meta['mcp-harden/injection']`, `fence`
   * also wraps text content as quoted data, `refuse` fails the call with `ERR_OUTPUT_REJECTED`.
   */
  injection?: InjectionMode;
  /** Output schemas by tool name (a policy's `sanitize.outputSchema` wins). */
  outputSchemas?: Record<string, SchemaLike>;
  /**
   * Remember the `outputSchema` of each tool seen in `tools/list` results passing through this
   * middleware, and use it when no schema is declared, so redacted `structuredContent` stays valid
   * for clients that validate it. Default `true`.
   */
  learnOutputSchemas?: boolean;
  /** Tool poisoning checks on `tools/list` results: `warn` (default), `refuse` or `off`. */
  toolDefinitions?: 'warn' | 'refuse' | 'off';
  /** Receives new tool findings in `warn` mode; defaults to one `console.warn` per finding. */
  onToolFindings?: (findings: ToolFinding[]) => void;
}

/**
 * Options of {@link sanitize}: input guards and output redaction together.
 *
 * @example
 * ```ts
 * const options: SanitizeOptions = { limits: { maxDepth: 8 }, strategy: 'partial', injection: 'fence' };
 * ```
 */
export interface SanitizeOptions extends GuardInputOptions, RedactOutputOptions {}

/**
 * `_meta` key of the injection flag on results: `{ flagged: true, patterns: [...] }`.
 *
 * @example
 * ```ts
 * const flag = result._meta?.[INJECTION_META_KEY];
 * ```
 */
export const INJECTION_META_KEY = 'mcp-harden/injection';

const SAFE_REASON = /^[a-z0-9][a-z0-9_.-]{0,63}$/i;

const INJECTION_MODES: readonly InjectionMode[] = ['flag', 'fence', 'refuse', 'off'];

const NO_PATTERNS: readonly string[] = [];

function refuseArgument(path: string, reason: string): HardenError {
  return new HardenError('ERR_INVALID_ARGUMENTS', `Invalid argument ${path}: ${reason}`, {
    data: { path, reason },
  });
}

/**
 * Throws `ERR_INVALID_ARGUMENTS` naming the first value over a limit. `at` is the path of `value`
 * below `arguments`, a stack of segments: the path text is only built for a refusal.
 */
function checkLimits(value: unknown, limits: InputLimits, at: Array<string | number>, depth: number): void {
  if (typeof value === 'string') {
    if (value.length > limits.maxStringLength)
      throw refuseArgument(joinPath('arguments', at), 'string-too-long');
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (depth >= limits.maxDepth) throw refuseArgument(joinPath('arguments', at), 'too-deep');
  if (Array.isArray(value)) {
    if (value.length > limits.maxArrayLength)
      throw refuseArgument(joinPath('arguments', at), 'array-too-long');
    for (let i = 0; i < value.length; i++) {
      at.push(i);
      checkLimits(value[i], limits, at, depth + 1);
      at.pop();
    }
    return;
  }
  const keys = Object.keys(value);
  if (keys.length > limits.maxKeys) throw refuseArgument(joinPath('arguments', at), 'too-many-keys');
  for (const key of keys) {
    if (key.length > limits.maxStringLength) throw refuseArgument(joinPath('arguments', at), 'key-too-long');
    at.push(key);
    checkLimits((value as JsonObject)[key], limits, at, depth + 1);
    at.pop();
  }
}

type Segment = string | '*';

function parseGuardPath(pattern: string): Segment[] {
  if (typeof pattern !== 'string' || !/^[^.[\]]+(?:\.[^.[\]]+|\[(?:\*|\d+)\])*$/.test(pattern)) {
    throw new TypeError(
      `sanitize: guard path "${pattern}" must look like "url", "files[*]" or "target.path"`,
    );
  }
  return pattern.split(/\.|\[|\]/).filter((s) => s !== '');
}

function collect(
  value: unknown,
  segments: Segment[],
  at: Array<string | number>,
  out: Array<[unknown, Array<string | number>]>,
) {
  if (segments.length === 0) {
    out.push([value, at]);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const [head, ...rest] = segments as [Segment, ...Segment[]];
  if (Array.isArray(value)) {
    if (head === '*') for (const [i, v] of value.entries()) collect(v, rest, [...at, i], out);
    else if (/^\d+$/.test(head) && Number(head) < value.length)
      collect(value[Number(head)], rest, [...at, Number(head)], out);
    return;
  }
  const record = value as JsonObject;
  if (head === '*') for (const k of Object.keys(record)) collect(record[k], rest, [...at, k], out);
  else if (Object.hasOwn(record, head)) collect(record[head], rest, [...at, head], out);
}

function compileGuards(guards: Record<string, ArgumentGuard> | undefined): Array<[Segment[], ArgumentGuard]> {
  if (guards === undefined) return [];
  if (typeof guards !== 'object' || guards === null)
    throw new TypeError('sanitize: guards must be an object');
  return Object.entries(guards).map(([pattern, guard]) => {
    if (typeof guard !== 'function')
      throw new TypeError(`sanitize: guard for "${pattern}" must be a function`);
    return [parseGuardPath(pattern), guard];
  });
}

function resolveLimits(limits: Partial<InputLimits> | undefined): InputLimits {
  const merged = { ...DEFAULT_LIMITS, ...limits };
  for (const [key, value] of Object.entries(merged)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new TypeError(`sanitize: limits.${key} must be a positive integer`);
  }
  return merged;
}

function policyOf(ctx: HardenContext): SanitizePolicy | undefined {
  return ctx.policy?.sanitize;
}

/** Builds the input half; shared by {@link guardInput} and {@link sanitize}. */
function inputChecker(options: GuardInputOptions) {
  const limits = resolveLimits(options.limits);
  const globalGuards = compileGuards(options.guards);
  const strictDefault = options.strict ?? false;
  // Compile up front so a bad schema fails at construction.
  for (const schema of Object.values(options.schemas ?? {})) compileSchema(schema, strictDefault);
  const policyGuards = new WeakMap<object, Array<[Segment[], ArgumentGuard]>>();

  /** The argument guards, one after the other (they may be asynchronous). */
  const runGuards = async (
    ctx: HardenContext,
    args: JsonObject,
    guards: Array<[Segment[], ArgumentGuard]>,
  ): Promise<void> => {
    for (const [segments, guard] of guards) {
      const hits: Array<[unknown, Array<string | number>]> = [];
      collect(args, segments, [], hits);
      for (const [value, at] of hits) {
        const path = joinPath('arguments', at);
        let verdict: string | undefined;
        try {
          verdict = await guard(value, { path, ctx });
        } catch (err) {
          if (err instanceof HardenError) throw err;
          throw new HardenError('ERR_INVALID_ARGUMENTS', `Invalid argument ${path}: guard-failed`, {
            data: { path, reason: 'guard-failed' },
            cause: err,
          });
        }
        if (verdict === undefined || verdict === null || (verdict as unknown) === true) continue;
        // Reasons reach the client: only short stable tokens pass, so a guard cannot echo the value.
        throw refuseArgument(
          path,
          typeof verdict === 'string' && SAFE_REASON.test(verdict) ? verdict : 'refused',
        );
      }
    }
  };

  // Synchronous unless a guard applies: no promise and no extra tick on the common path.
  return function checkInput(ctx: HardenContext): Promise<void> | undefined {
    const args = ctx.arguments;
    if (args === undefined) return undefined;
    checkLimits(args, limits, [], 0);
    if (!surelyFitsJson(args, limits.maxBytes)) {
      const bytes = Buffer.byteLength(JSON.stringify(args), 'utf8');
      if (bytes > limits.maxBytes) throw refuseArgument('arguments', 'too-large');
    }
    if (ctx.method !== 'tools/call' && ctx.method !== 'prompts/get') return;
    const policy = policyOf(ctx);
    const schema =
      policy?.inputSchema ?? (ctx.target !== undefined ? options.schemas?.[ctx.target] : undefined);
    if (schema !== undefined) {
      const validate = compileSchema(schema, policy?.strict ?? strictDefault);
      if (!validate(args)) {
        const error = validate.errors?.[0];
        const extra =
          error?.keyword === 'additionalProperties'
            ? String((error.params as { additionalProperty?: unknown }).additionalProperty)
            : error?.keyword === 'required'
              ? String((error.params as { missingProperty?: unknown }).missingProperty)
              : undefined;
        const reason =
          error?.keyword === 'additionalProperties' ? 'unknown-key' : (error?.keyword ?? 'schema');
        const path = pointerToPath('arguments', error?.instancePath ?? '', extra);
        throw new HardenError('ERR_INVALID_ARGUMENTS', `Invalid argument ${path}: ${reason}`, {
          data: { path, reason, ...(error?.message ? { detail: error.message } : {}) },
        });
      }
    } else if (options.requireSchema) {
      throw refuseArgument('arguments', 'no-schema');
    }
    let guards = globalGuards;
    if (policy?.guards) {
      let extra = policyGuards.get(policy.guards);
      if (!extra) {
        extra = compileGuards(policy.guards);
        policyGuards.set(policy.guards, extra);
      }
      guards = [...globalGuards, ...extra];
    }
    return guards.length > 0 ? runGuards(ctx, args, guards) : undefined;
  };
}

/** Truncates to at most `bytes` UTF-8 bytes without splitting a character. */
function truncateUtf8(text: string, bytes: number): string {
  if (bytes <= 0) return '';
  const buffer = new Uint8Array(bytes);
  const { read } = new TextEncoder().encodeInto(text, buffer);
  return text.slice(0, read);
}

interface OutputPass {
  counts: Record<string, number>;
  patterns: Set<string>;
  /** Look for injection phrasing (false when the mode is `off`: nothing would read the findings). */
  scan: boolean;
}

const outputPass = (mode: InjectionMode): OutputPass => ({
  counts: {},
  patterns: new Set(),
  scan: mode !== 'off',
});

/** Builds the output half; shared by {@link redactOutput} and {@link sanitize}. */
function outputProcessor(options: RedactOutputOptions) {
  const base = createInternalRedactor(options);
  const maxOutputBytes = options.maxOutputBytes ?? 1_048_576;
  if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 1024) {
    throw new TypeError('sanitize: maxOutputBytes must be an integer >= 1024');
  }
  const injectionDefault = options.injection ?? 'flag';
  if (!INJECTION_MODES.includes(injectionDefault))
    throw new TypeError('sanitize: injection must be flag, fence, refuse or off');
  const toolMode = options.toolDefinitions ?? 'warn';
  if (!['warn', 'refuse', 'off'].includes(toolMode))
    throw new TypeError('sanitize: toolDefinitions must be warn, refuse or off');
  for (const schema of Object.values(options.outputSchemas ?? {})) compileSchema(schema, false);
  const strip = options.stripInvisible ?? true;
  const warned = new Set<string>();
  const onToolFindings =
    options.onToolFindings ??
    ((findings: ToolFinding[]) => {
      for (const f of findings) console.warn(`[mcp-harden/sanitize] tool ${f.tool}: ${f.issue} in ${f.path}`);
    });
  const policyRedactors = new WeakMap<object, InternalRedactor>();
  const learnSchemas = options.learnOutputSchemas ?? true;
  // Tool name -> output schema from tools/list; canonical JSON keeps one compiled copy per distinct schema.
  const learned = new Map<string, SchemaLike>();
  const canonical = new Map<string, SchemaLike>();
  const learn = (tools: unknown[]) => {
    for (const tool of tools) {
      const t = tool as { name?: unknown; outputSchema?: unknown };
      if (typeof t?.name !== 'string') continue;
      if (typeof t.outputSchema !== 'object' || t.outputSchema === null) {
        learned.delete(t.name);
        continue;
      }
      const key = JSON.stringify(t.outputSchema);
      let schema = canonical.get(key);
      if (!schema) {
        try {
          compileSchema(t.outputSchema as SchemaLike, false);
        } catch {
          learned.delete(t.name);
          continue; // A schema ajv cannot compile is not used; the plain mask applies.
        }
        if (canonical.size >= 1000) canonical.clear();
        schema = t.outputSchema as SchemaLike;
        canonical.set(key, schema);
      }
      if (learned.size >= 10_000 && !learned.has(t.name)) learned.clear();
      learned.set(t.name, schema);
    }
  };

  const redactorFor = (policy: SanitizePolicy | undefined): InternalRedactor => {
    if (!policy?.rules) return base;
    let redactor = policyRedactors.get(policy.rules);
    if (!redactor) {
      redactor = createInternalRedactor({ ...options, rules: { ...options.rules, ...policy.rules } });
      policyRedactors.set(policy.rules, redactor);
    }
    return redactor;
  };

  const cleanText = (text: string, redactor: InternalRedactor, pass: OutputPass): string => {
    let out = text;
    if (strip && mayStrip(out)) {
      const stripped = stripFound(out);
      if (stripped.hidden) pass.patterns.add('hidden-characters');
      out = stripped.text;
    }
    if (pass.scan) addInjectionPatterns(out, pass.patterns);
    return redactor[REDACT_INTO](out, pass.counts);
  };

  const cleanValue = (
    value: unknown,
    redactor: InternalRedactor,
    pass: OutputPass,
    format: boolean,
  ): unknown => {
    if (typeof value === 'string') {
      let out = value;
      if (strip && mayStrip(out)) out = stripFound(out).text;
      if (pass.scan) addInjectionPatterns(out, pass.patterns);
      return redactor[REDACT_INTO](out, pass.counts, format ? 'format' : undefined);
    }
    if (Array.isArray(value)) return value.map((v) => cleanValue(v, redactor, pass, format));
    if (typeof value === 'object' && value !== null) {
      const out: JsonObject = {};
      for (const [k, v] of Object.entries(value)) out[k] = cleanValue(v, redactor, pass, format);
      return out;
    }
    return value;
  };

  const cleanBlock = (block: ContentBlock, redactor: InternalRedactor, pass: OutputPass): ContentBlock => {
    if (block.type === 'text' && typeof block.text === 'string')
      return { ...block, text: cleanText(block.text, redactor, pass) };
    if (block.type === 'resource' && typeof block.resource === 'object' && block.resource !== null) {
      const resource = block.resource as JsonObject;
      if (typeof resource.text === 'string') {
        return { ...block, resource: { ...resource, text: cleanText(resource.text, redactor, pass) } };
      }
    }
    if (block.type === 'resource_link' && typeof block.description === 'string') {
      return { ...block, description: cleanText(block.description, redactor, pass) };
    }
    return block;
  };

  /** Caps text in `items` (text blocks or resource contents) so the whole result fits. */
  const capSize = (
    result: McpResult,
    items: JsonObject[] | undefined,
    notice: (shown: number, total: number) => JsonObject,
    rebuild: (items: JsonObject[]) => McpResult,
  ): McpResult => {
    // Measuring exactly serializes the whole result: only when the cheap bound is not enough.
    if (surelyFitsJson(result, maxOutputBytes)) return result;
    const size = Buffer.byteLength(JSON.stringify(result), 'utf8');
    if (size <= maxOutputBytes) return result;
    const isText = (i: unknown): i is JsonObject & { text: string } =>
      typeof i === 'object' && i !== null && typeof (i as JsonObject).text === 'string';
    const texts = (items ?? []).filter(isText);
    const textBytes = texts.reduce((n, i) => n + Buffer.byteLength(i.text, 'utf8'), 0);
    // JSON escaping can grow text; leave room for it and for the notice.
    let budget = Math.floor((maxOutputBytes - (size - textBytes) - 512) / 2);
    const tooLarge = () =>
      new HardenError('ERR_OUTPUT_REJECTED', 'Tool output exceeds the size limit', {
        data: { reason: 'too-large', limitBytes: maxOutputBytes },
      });
    if (budget <= 0 || textBytes === 0) throw tooLarge();
    let shown = 0;
    const kept: JsonObject[] = [];
    for (const item of items ?? []) {
      if (!isText(item)) {
        kept.push(item);
        continue;
      }
      if (budget <= 0) continue;
      const text = truncateUtf8(item.text, budget);
      const n = Buffer.byteLength(text, 'utf8');
      budget -= n;
      shown += n;
      kept.push({ ...item, text });
    }
    kept.push(notice(shown, textBytes));
    const capped = rebuild(kept);
    // Escaping can still overshoot (control characters kept with stripInvisible: false): fail closed.
    if (Buffer.byteLength(JSON.stringify(capped), 'utf8') > maxOutputBytes) throw tooLarge();
    return capped;
  };

  const injectionMode = (policy: SanitizePolicy | undefined): InjectionMode =>
    policy?.injection ?? injectionDefault;

  const finish = (
    ctx: HardenContext,
    result: McpResult,
    pass: OutputPass,
    mode: InjectionMode,
  ): McpResult => {
    for (const rule in pass.counts) {
      if (!Object.hasOwn(pass.counts, rule)) continue;
      ctx.state.redactions ??= {};
      const total = ctx.state.redactions;
      total[rule] = (total[rule] ?? 0) + pass.counts[rule]!;
    }
    if (mode === 'off') return result;
    const previous = ctx.state.injection?.patterns ?? NO_PATTERNS;
    if (pass.patterns.size === 0 && previous.length === 0) {
      ctx.state.injection = { flagged: false, patterns: [] };
      return result;
    }
    const patterns = [...pass.patterns].sort();
    ctx.state.injection = {
      flagged: patterns.length > 0 || previous.length > 0,
      patterns: [...new Set([...previous, ...patterns])],
    };
    if (patterns.length === 0) return result;
    if (mode === 'refuse') {
      throw new HardenError('ERR_OUTPUT_REJECTED', 'Tool output contains instruction-like content', {
        data: { reason: 'injection', patterns },
      });
    }
    return { ...result, _meta: { ...result._meta, [INJECTION_META_KEY]: { flagged: true, patterns } } };
  };

  const truncationNotice = (shown: number, total: number): JsonObject => ({
    type: 'text',
    text: `[mcp-harden] Output truncated: ${shown} of ${total} bytes of text shown (limit ${maxOutputBytes} bytes).`,
  });

  const toolsCall = (ctx: HardenContext, result: McpResult): McpResult => {
    const policy = policyOf(ctx);
    const redactor = redactorFor(policy);
    const mode = injectionMode(policy);
    const pass = outputPass(mode);
    let out: McpResult = { ...result };
    if (Array.isArray(result.content)) {
      out.content = (result.content as ContentBlock[]).map((b) =>
        typeof b === 'object' && b !== null ? cleanBlock(b, redactor, pass) : b,
      );
    }
    const structured = result.structuredContent;
    if (typeof structured === 'object' && structured !== null) {
      const schema =
        policy?.outputSchema ??
        (ctx.target !== undefined
          ? (options.outputSchemas?.[ctx.target] ?? learned.get(ctx.target))
          : undefined);
      const trial = outputPass(mode);
      let redacted = cleanValue(structured, redactor, trial, false);
      if (schema !== undefined) {
        const validate = compileSchema(schema, false);
        if (!validate(redacted)) {
          trial.counts = {};
          redacted = cleanValue(structured, redactor, trial, true);
          if (!validate(redacted)) {
            throw new HardenError(
              'ERR_OUTPUT_REJECTED',
              'Redacted output no longer matches the output schema',
              {
                data: { reason: 'redaction-breaks-schema' },
              },
            );
          }
        }
      }
      for (const [rule, n] of Object.entries(trial.counts)) pass.counts[rule] = (pass.counts[rule] ?? 0) + n;
      for (const p of trial.patterns) pass.patterns.add(p);
      out.structuredContent = redacted;
    }
    if (mode === 'fence' && pass.patterns.size > 0 && Array.isArray(out.content)) {
      out.content = (out.content as ContentBlock[]).map((b) =>
        b.type === 'text' && typeof b.text === 'string' ? { ...b, text: fenceAsData(b.text) } : b,
      );
    }
    out = finish(ctx, out, pass, mode);
    return capSize(
      out,
      Array.isArray(out.content) ? (out.content as JsonObject[]) : undefined,
      truncationNotice,
      (content) => ({
        ...out,
        content,
      }),
    );
  };

  const resourcesRead = (ctx: HardenContext, result: McpResult): McpResult => {
    const policy = policyOf(ctx);
    const redactor = redactorFor(policy);
    const mode = injectionMode(policy);
    const pass = outputPass(mode);
    let out: McpResult = { ...result };
    if (Array.isArray(result.contents)) {
      out.contents = (result.contents as JsonObject[]).map((c) =>
        typeof c === 'object' && c !== null && typeof c.text === 'string'
          ? { ...c, text: mode === 'fence' ? c.text : cleanText(c.text, redactor, pass) }
          : c,
      );
      if (mode === 'fence') {
        out.contents = (result.contents as JsonObject[]).map((c) => {
          if (typeof c !== 'object' || c === null || typeof c.text !== 'string') return c;
          const local = outputPass(mode);
          const text = cleanText(c.text, redactor, local);
          for (const [rule, n] of Object.entries(local.counts))
            pass.counts[rule] = (pass.counts[rule] ?? 0) + n;
          for (const p of local.patterns) pass.patterns.add(p);
          return { ...c, text: local.patterns.size > 0 ? fenceAsData(text) : text };
        });
      }
    }
    out = finish(ctx, out, pass, mode);
    return capSize(
      out,
      Array.isArray(out.contents) ? (out.contents as JsonObject[]) : undefined,
      (shown, total) => ({
        uri: 'mcp-harden:truncated',
        mimeType: 'text/plain',
        text: truncationNotice(shown, total).text as string,
      }),
      (contents) => ({ ...out, contents }),
    );
  };

  const promptsGet = (ctx: HardenContext, result: McpResult): McpResult => {
    const policy = policyOf(ctx);
    const redactor = redactorFor(policy);
    const mode = injectionMode(policy);
    const pass = outputPass(mode);
    let out: McpResult = { ...result };
    if (typeof result.description === 'string')
      out.description = cleanText(result.description, redactor, pass);
    if (Array.isArray(result.messages)) {
      out.messages = (result.messages as JsonObject[]).map((m) =>
        typeof m === 'object' && m !== null && typeof m.content === 'object' && m.content !== null
          ? { ...m, content: cleanBlock(m.content as ContentBlock, redactor, pass) }
          : m,
      );
    }
    // Prompt text is meant to instruct; flag but never fence or refuse it on phrasing alone.
    out = finish(ctx, out, pass, mode === 'off' ? 'off' : 'flag');
    // Prompt messages are not truncated (a cut prompt changes its meaning): over the cap is refused.
    return capSize(out, undefined, truncationNotice, () => out);
  };

  const toolsList = (result: McpResult): McpResult => {
    if (learnSchemas && Array.isArray(result.tools)) learn(result.tools);
    if (toolMode === 'off' || !Array.isArray(result.tools)) return result;
    const findings = checkToolDefinitions(result.tools as ToolDefinition[]);
    if (findings.length === 0) return result;
    if (toolMode === 'refuse') {
      throw new HardenError('ERR_OUTPUT_REJECTED', 'Tool definitions contain suspicious content', {
        data: { reason: 'tool-poisoning', tools: [...new Set(findings.map((f) => f.tool))] },
      });
    }
    const fresh = findings.filter((f) => {
      const key = `${f.tool}\u0000${f.path}\u0000${f.issue}`;
      if (warned.has(key) || warned.size > 10_000) return false;
      warned.add(key);
      return true;
    });
    if (fresh.length > 0) onToolFindings(fresh);
    return result;
  };

  return function processOutput(ctx: HardenContext, result: McpResult): McpResult {
    switch (ctx.method) {
      case 'tools/call':
        return toolsCall(ctx, result);
      case 'resources/read':
        return resourcesRead(ctx, result);
      case 'prompts/get':
        return promptsGet(ctx, result);
      case 'tools/list':
        return toolsList(result);
      default:
        return result;
    }
  };
}

/**
 * Input guards: structural limits, schema validation (unknown keys refused when strict) and
 * argument guards, before the handler. Refusals are `ERR_INVALID_ARGUMENTS` with `data.path` and
 * `data.reason`, never the value.
 *
 * @example
 * ```ts
 * import { guardInput, pathGuard } from '@mcp-harden/sanitize';
 * const guard = guardInput({ limits: { maxDepth: 8 }, guards: { path: pathGuard({ roots: ['/srv/data'] }) } });
 * ```
 */
export function guardInput(options: GuardInputOptions = {}): Middleware {
  const checkInput = inputChecker(options);
  return defineMiddleware('sanitize-input', async function guardInputMiddleware(ctx, next) {
    const pending = checkInput(ctx);
    if (pending) await pending;
    return next();
  });
}

/**
 * Output redaction: secrets and PII in tool text, `structuredContent` (kept schema-valid),
 * embedded resources, `resources/read` and `prompts/get`; invisible characters and ANSI escapes
 * stripped; injection phrasing flagged, fenced or refused; size capped; tool definitions checked.
 * Counts land on `ctx.state.redactions`, findings on `ctx.state.injection`.
 *
 * @example
 * ```ts
 * import { redactOutput } from '@mcp-harden/sanitize';
 * const redaction = redactOutput({ rules: { ipv4: false }, injection: 'fence' });
 * ```
 */
export function redactOutput(options: RedactOutputOptions = {}): Middleware {
  const processOutput = outputProcessor(options);
  return defineMiddleware('sanitize-output', async function redactOutputMiddleware(ctx, next) {
    return processOutput(ctx, await next());
  });
}

/**
 * Input guards and output redaction in one middleware; place it after auth, rbac and rate limits.
 *
 * @example
 * ```ts
 * import { harden } from '@mcp-harden/sdk';
 * import { pathGuard, sanitize, urlGuard } from '@mcp-harden/sanitize';
 * const hardened = harden(server, {
 *   use: [sanitize({ guards: { path: pathGuard({ roots: ['/srv/data'] }), url: urlGuard({ hosts: ['api.example.com'] }) } })],
 * });
 * ```
 */
export function sanitize(options: SanitizeOptions = {}): Middleware {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('sanitize: options must be an object');
  const checkInput = inputChecker(options);
  const processOutput = outputProcessor(options);
  return defineMiddleware('sanitize', async function sanitizeMiddleware(ctx, next) {
    const pending = checkInput(ctx);
    if (pending) await pending;
    return processOutput(ctx, await next());
  });
}

export type { RedactionStrategy };
