import type { ArgumentGuard } from './guards.js';
import type { BuiltinRuleName, RedactionStrategy } from './rules.js';
import type { SchemaLike } from './schema.js';

/** What `sanitize` recorded about instruction-like text in the output. */
export interface InjectionState {
  flagged: boolean;
  /** Names of the patterns found (never the text). */
  patterns: string[];
}

/**
 * Per-target sanitize options, declared at registration with `withPolicy({ sanitize: {...} })`.
 *
 * @example
 * ```ts
 * hardened
 *   .withPolicy({ sanitize: { inputSchema: z.object({ path: z.string() }), strict: true, guards: { path: pathGuard({ roots: ['/srv'] }) } } })
 *   .registerTool('read_file', { inputSchema: { path: z.string() } }, handler);
 * ```
 */
export interface SanitizePolicy {
  /** Schema the raw arguments must satisfy (JSON Schema or zod). */
  inputSchema?: SchemaLike;
  /** Refuse argument keys the schema does not list. */
  strict?: boolean;
  /** Schema `structuredContent` must still satisfy after redaction. */
  outputSchema?: SchemaLike;
  /** Guards by argument path (`url`, `files[*]`, `target.path`), added to the global ones. */
  guards?: Record<string, ArgumentGuard>;
  /** Built-in rules on/off or with a strategy for this target (merged over the global setting). */
  rules?: Partial<Record<BuiltinRuleName, boolean | RedactionStrategy>>;
  /** Injection handling for this target's output. */
  injection?: 'flag' | 'fence' | 'refuse' | 'off';
}

declare module '@mcp-harden/core' {
  interface HardenState {
    /** Redactions made in the output, by rule name (counts only, never values). */
    redactions?: Record<string, number>;
    /** Instruction-like content found in the output. */
    injection?: InjectionState;
  }
  interface TargetPolicy {
    /** Options of `@mcp-harden/sanitize` for this tool, prompt or resource. */
    sanitize?: SanitizePolicy;
  }
}
