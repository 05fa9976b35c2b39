import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { type CodeBlock, extractTsBlocks } from './extract.js';

/**
 * Ambient declarations every block may use without declaring them: the few placeholders the
 * docs refer to as "your server" or "your middleware". Keep it tiny; a block that needs more
 * should declare it itself (`declare const x: T;`), so readers see the type.
 */
export const PRELUDE = `import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

declare global {
  /** "Your" MCP server, built elsewhere. */
  const server: McpServer;
  /** An official SDK client connected to that server. */
  const client: Client;
}
`;

/** One type error, located in the markdown source. */
export interface DocError {
  file: string;
  /** 1-based ordinal of the TypeScript block in `file`. */
  block: number;
  /** 1-based line in `file`. */
  line: number;
  column: number;
  code: number;
  message: string;
}

/** Result of {@link checkDocs}. */
export interface CheckResult {
  blocks: CodeBlock[];
  checked: number;
  skipped: CodeBlock[];
  errors: DocError[];
}

/** Markdown files whose TypeScript blocks are checked, relative to `root`, sorted. */
export function docFiles(root: string): string[] {
  const out: string[] = [];
  const add = (rel: string) => {
    try {
      if (statSync(join(root, rel)).isFile()) out.push(rel.split(sep).join('/'));
    } catch {
      // not there
    }
  };
  add('README.md');
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(rel);
      } else if (entry.name.endsWith('.md')) add(rel);
    }
  };
  try {
    walk('docs');
  } catch {
    // no docs/
  }
  for (const group of ['packages', 'examples']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, group));
    } catch {
      continue;
    }
    for (const name of names.sort()) add(join(group, name, 'README.md'));
  }
  return [...new Set(out)].sort();
}

const RELATIVE_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.\.?\/[^'"]*)\2/g;

/**
 * The block as a module: relative imports (`./src/index.js`) are made relative to the markdown
 * file's directory, and `export {}` makes it a module (top-level await) without shifting lines.
 */
export function toModule(block: CodeBlock, root: string, outFile: string): string {
  const docDir = dirname(join(root, block.file));
  const code = block.code.replace(RELATIVE_SPECIFIER, (_m, head: string, quote: string, spec: string) => {
    let target = relative(dirname(outFile), resolve(docDir, spec)).split(sep).join(posix.sep);
    if (!target.startsWith('.')) target = `./${target}`;
    return `${head}${quote}${target}${quote}`;
  });
  return `${code}\nexport {};\n`;
}

function compilerOptions(base: string): ts.CompilerOptions {
  const read = ts.readConfigFile(base, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(base), undefined, base);
  return {
    ...parsed.options,
    noEmit: true,
    // Readers paste blocks into projects of their own: `import type` discipline and
    // single-file transpilation are this repository's choices, not correctness.
    verbatimModuleSyntax: false,
    isolatedModules: false,
  };
}

/** Options of {@link checkDocs}. */
export interface CheckOptions {
  /** Repository root; markdown paths are relative to it. */
  root: string;
  /** Where the generated modules go; wiped first. Imports resolve from here. */
  outDir: string;
  /** Markdown files to check, relative to `root`; defaults to {@link docFiles}. */
  files?: readonly string[];
  /** tsconfig whose compiler options are used; defaults to `<root>/tsconfig.base.json`. */
  tsconfig?: string;
}

/**
 * Extracts every TypeScript block of the docs, writes each as a module under `outDir` (wiped
 * first) next to the {@link PRELUDE}, and type-checks them all in one program with the
 * repository's compiler options. Modules resolve from `outDir`, so `@mcp-harden/*` imports use
 * the packages' built types.
 */
export function checkDocs(options: CheckOptions): CheckResult {
  const { root, outDir } = options;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const prelude = join(outDir, 'prelude.d.ts');
  writeFileSync(prelude, PRELUDE);

  const files = options.files ?? docFiles(root);
  const blocks = files.flatMap((file) => extractTsBlocks(readFileSync(join(root, file), 'utf8'), file));
  const skipped = blocks.filter((b) => b.noCheck);
  const byFile = new Map<string, CodeBlock>();
  for (const block of blocks) {
    if (block.noCheck) continue;
    const dir = join(outDir, block.file.replace(/\.md$/, '').replace(/[^A-Za-z0-9_-]+/g, '_'));
    const outFile = join(dir, `block-${block.index}.ts`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(outFile, toModule(block, root, outFile));
    byFile.set(resolve(outFile), block);
  }

  const program = ts.createProgram({
    rootNames: [prelude, ...byFile.keys()],
    options: compilerOptions(options.tsconfig ?? join(root, 'tsconfig.base.json')),
  });
  const errors: DocError[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.category !== ts.DiagnosticCategory.Error) continue;
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const block = d.file ? byFile.get(resolve(d.file.fileName)) : undefined;
    if (!block) {
      // Errors in the prelude, in options, or in a file a block imported: still failures.
      const where = d.file ? relative(root, d.file.fileName) : '(program)';
      errors.push({ file: where, block: 0, line: 0, column: 0, code: d.code, message });
      continue;
    }
    const pos = d.start === undefined ? undefined : d.file!.getLineAndCharacterOfPosition(d.start);
    errors.push({
      file: block.file,
      block: block.index,
      line: block.line + (pos?.line ?? 0),
      column: (pos?.character ?? 0) + 1,
      code: d.code,
      message,
    });
  }
  return { blocks, checked: byFile.size, skipped, errors };
}

/** One line per error: `file:line:column (ts block N) TSxxxx message`. */
export function formatErrors(errors: readonly DocError[]): string {
  return errors
    .map((e) => `${e.file}:${e.line}:${e.column} (ts block ${e.block}) TS${e.code} ${e.message}`)
    .join('\n');
}
