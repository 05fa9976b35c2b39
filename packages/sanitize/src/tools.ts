import type { ToolDefinition } from '@mcp-harden/core';
import { joinPath } from './schema.js';
import { detectPoisoning, stripInvisible } from './text.js';

/** One suspicious spot in a tool definition. */
export interface ToolFinding {
  /** Tool name. */
  tool: string;
  /** Where in the definition (`description`, `inputSchema.properties.path.description`). */
  path: string;
  /** `invisible-characters`, `control-characters`, or the name of an instruction pattern. */
  issue: string;
}

function scan(tool: string, where: string, value: unknown, out: ToolFinding[], depth: number): void {
  if (depth > 32) return;
  if (typeof value === 'string') {
    const stripped = stripInvisible(value);
    if (stripped.invisible > 0) out.push({ tool, path: where, issue: 'invisible-characters' });
    if (stripped.control > 0) out.push({ tool, path: where, issue: 'control-characters' });
    for (const issue of detectPoisoning(stripped.text)) out.push({ tool, path: where, issue });
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) scan(tool, joinPath(where, [i]), v, out, depth + 1);
    return;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      // Property names are text a model reads too.
      scan(tool, joinPath(where, [k]), k, out, depth + 1);
      scan(tool, joinPath(where, [k]), v, out, depth + 1);
    }
  }
}

/**
 * Looks for tool poisoning in tool definitions: invisible characters, control characters and
 * instruction-like text (hidden directives, "ignore previous instructions", references to
 * `~/.ssh` or `.env`) in names, titles, descriptions, schemas and annotations. Run it at start-up
 * on your own tools, or let `sanitize({ toolDefinitions })` run it on every `tools/list`.
 *
 * @example
 * ```ts
 * import { checkToolDefinitions } from '@mcp-harden/sanitize';
 * const findings = checkToolDefinitions((await client.listTools()).tools);
 * if (findings.length > 0) throw new Error(`poisoned tools: ${findings.map((f) => f.tool).join(', ')}`);
 * ```
 */
export function checkToolDefinitions(tools: readonly ToolDefinition[]): ToolFinding[] {
  if (!Array.isArray(tools)) throw new TypeError('checkToolDefinitions: tools must be an array');
  const findings: ToolFinding[] = [];
  for (const tool of tools) {
    if (typeof tool !== 'object' || tool === null) continue;
    const name = typeof tool.name === 'string' ? tool.name : '';
    for (const key of [
      'name',
      'title',
      'description',
      'inputSchema',
      'outputSchema',
      'annotations',
    ] as const) {
      if (tool[key] !== undefined) scan(name, key, tool[key], findings, 0);
    }
  }
  return findings;
}
