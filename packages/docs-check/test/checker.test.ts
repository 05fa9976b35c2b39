import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckResult, checkDocs, formatErrors } from '../src/check.js';

const pkg = join(import.meta.dirname, '..');
const root = join(pkg, '.generated-fixture', 'repo');
const outDir = join(pkg, '.generated-fixture', 'out');

const good = [
  '# Good',
  '',
  '```ts',
  "import { compose, createContext } from '@mcp-harden/core';",
  'const chain = compose([]);',
  "const result = await chain(createContext({ method: 'tools/list' }), async () => ({ tools: [] }));",
  'console.log(result, server, client);',
  '```',
  '',
  '```ts',
  "import { double } from './lib/double.js';",
  'const n: number = double(2);',
  '```',
].join('\n');

const bad = [
  '# Bad', // 1
  '', // 2
  '```ts no-check', // 3
  'this is not TypeScript at all', // 4
  '```', // 5
  '', // 6
  '```typescript', // 7
  "import { HardenError } from '@mcp-harden/core';", // 8
  '', // 9
  "const e = new HardenError('ERR_NOT_A_CODE');", // 10
  'console.log(e, undeclaredThing);', // 11
  '```', // 12
].join('\n');

let result: CheckResult;

beforeAll(() => {
  rmSync(join(pkg, '.generated-fixture'), { recursive: true, force: true });
  mkdirSync(join(root, 'docs', 'lib'), { recursive: true });
  writeFileSync(join(root, 'docs', 'good.md'), good);
  writeFileSync(
    join(root, 'docs', 'lib', 'double.ts'),
    'export const double = (n: number): number => n * 2;\n',
  );
  writeFileSync(join(root, 'bad.md'), bad);
  result = checkDocs({
    root,
    outDir,
    files: ['docs/good.md', 'bad.md'],
    tsconfig: join(pkg, '..', '..', 'tsconfig.base.json'),
  });
}, 120_000);

afterAll(() => {
  rmSync(join(pkg, '.generated-fixture'), { recursive: true, force: true });
});

describe('checkDocs()', () => {
  it('checks every block but the no-check ones', () => {
    expect(result.blocks).toHaveLength(4);
    expect(result.checked).toBe(3);
    expect(result.skipped.map((b) => [b.file, b.index])).toEqual([['bad.md', 1]]);
  });

  it('reports each error with the markdown file, block number and line', () => {
    expect(result.errors.map((e) => [e.file, e.block, e.line, e.code])).toEqual([
      ['bad.md', 2, 10, 2345],
      ['bad.md', 2, 11, 2304],
    ]);
    expect(formatErrors(result.errors)).toContain(
      "bad.md:11:16 (ts block 2) TS2304 Cannot find name 'undeclaredThing'.",
    );
  });

  it('accepts top-level await, the prelude placeholders and imports relative to the markdown file', () => {
    expect(result.errors.filter((e) => e.file === 'docs/good.md')).toEqual([]);
  });
});
