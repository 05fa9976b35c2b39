/** A compiled RFC 6570 level-1 URI template (`notes://{tenant}/{id}`), used to match URIs. */
export interface CompiledTemplate {
  readonly source: string;
  readonly names: readonly string[];
  match(uri: string): Record<string, string> | undefined;
}

const EXPRESSION = /\{([^{}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z0-9_]+$/;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Compiles a level-1 template. A variable matches one non-empty segment without `/` or `,`,
 * the same as the MCP SDK's matcher for simple `{var}` expressions; values are not decoded.
 * Throws `TypeError` for operators (`{+x}`, `{?x}`), lists (`{a,b}`) or malformed braces.
 */
export function compileUriTemplate(source: string): CompiledTemplate {
  const names: string[] = [];
  let pattern = '^';
  let last = 0;
  for (const match of source.matchAll(EXPRESSION)) {
    const name = match[1] ?? '';
    if (!VARIABLE_NAME.test(name)) {
      throw new TypeError(
        `rbac: URI template "${source}" uses "{${name}}"; only level-1 {name} variables are supported`,
      );
    }
    if (names.includes(name))
      throw new TypeError(`rbac: URI template "${source}" repeats the variable "${name}"`);
    const literal = source.slice(last, match.index);
    if (/[{}]/.test(literal)) throw new TypeError(`rbac: URI template "${source}" has unbalanced braces`);
    pattern += `${escapeRegExp(literal)}([^/,]+)`;
    names.push(name);
    last = (match.index ?? 0) + match[0].length;
  }
  const tail = source.slice(last);
  if (/[{}]/.test(tail)) throw new TypeError(`rbac: URI template "${source}" has unbalanced braces`);
  const regex = new RegExp(`${pattern}${escapeRegExp(tail)}$`);
  return {
    source,
    names,
    match(uri) {
      const found = regex.exec(uri);
      if (!found) return undefined;
      const variables: Record<string, string> = Object.create(null);
      names.forEach((name, i) => {
        variables[name] = found[i + 1] ?? '';
      });
      return variables;
    },
  };
}
