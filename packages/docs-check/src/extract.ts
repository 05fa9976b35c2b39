/** One fenced TypeScript code block of a markdown file. */
export interface CodeBlock {
  /** Path of the markdown file, relative to the repository root, with `/` separators. */
  file: string;
  /** 1-based ordinal of the block among the TypeScript blocks of `file`. */
  index: number;
  /** 1-based line in `file` of the block's first code line (the line after the opening fence). */
  line: number;
  /** The language as written (`ts` or `typescript`). */
  lang: string;
  /** The words after the language on the fence line (`no-check`, ...). */
  meta: string[];
  /** True when the fence line carries the `no-check` marker. */
  noCheck: boolean;
  /** The code, with the fence's indentation removed. */
  code: string;
}

/** Languages whose blocks are type-checked. */
export const TS_LANGS: readonly string[] = ['ts', 'typescript'];

/** The fence-line marker that opts a block out of type-checking. */
export const NO_CHECK = 'no-check';

const OPEN = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)(.*)$/;

/**
 * Extracts the fenced ```` ```ts ```` / ```` ```typescript ```` blocks of a markdown document,
 * following CommonMark fences: backtick or tilde fences of three or more, closed by a fence of
 * the same character at least as long; indented fences (in lists) have that indentation removed
 * from their lines. Blocks of other languages are skipped, including TypeScript shown inside them.
 */
export function extractTsBlocks(markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = OPEN.exec(lines[i]!);
    if (!open) {
      i++;
      continue;
    }
    const indent = open[1]!.length;
    const fence = open[2]!;
    const lang = open[3]!.toLowerCase();
    const meta = open[4]!.trim().split(/\s+/).filter(Boolean);
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !close.test(lines[j]!)) {
      const text = lines[j]!;
      // Remove up to `indent` leading spaces, as CommonMark does for indented fences.
      const strip = Math.min(indent, text.length - text.trimStart().length);
      body.push(text.slice(strip));
      j++;
    }
    if (TS_LANGS.includes(lang)) {
      blocks.push({
        file,
        index: blocks.length + 1,
        line: i + 2,
        lang,
        meta,
        noCheck: meta.includes(NO_CHECK),
        code: body.join('\n'),
      });
    }
    i = j + 1;
  }
  return blocks;
}
