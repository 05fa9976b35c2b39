import { describe, expect, it } from 'vitest';
import { extractTsBlocks } from '../src/extract.js';

const md = [
  '# Title', // 1
  '', // 2
  '```ts', // 3
  'const a = 1;', // 4
  '```', // 5
  '', // 6
  '```sh', // 7
  'pnpm test', // 8
  '```ts', // 9: inside a sh block, not a fence
  '```', // 10
  '', // 11
  '~~~typescript no-check', // 12
  'const b = ;', // 13
  '~~~', // 14
  '', // 15
  '- item', // 16
  '  ```TS title="x"', // 17
  '  const c = 3;', // 18
  '    const d = 4;', // 19
  '  ```', // 20
  '````ts', // 21
  '```', // 22: shorter fence inside a longer one is content
  '````', // 23
  '```json', // 24
  '{}', // 25
  '```', // 26
].join('\n');

describe('extractTsBlocks()', () => {
  const blocks = extractTsBlocks(md, 'docs/x.md');

  it('finds ts and typescript blocks, in order, numbered from 1', () => {
    expect(blocks.map((b) => [b.index, b.lang, b.line])).toEqual([
      [1, 'ts', 4],
      [2, 'typescript', 13],
      [3, 'ts', 18],
      [4, 'ts', 22],
    ]);
  });

  it('skips other languages, including fence-looking lines inside them', () => {
    expect(blocks.some((b) => b.code.includes('pnpm'))).toBe(false);
    expect(blocks.some((b) => b.code === '{}')).toBe(false);
  });

  it('reads the no-check marker and other words of the fence line', () => {
    expect(blocks.map((b) => b.noCheck)).toEqual([false, true, false, false]);
    expect(blocks[2]!.meta).toEqual(['title="x"']);
  });

  it('removes the fence indentation of indented blocks and keeps deeper indentation', () => {
    expect(blocks[2]!.code).toBe('const c = 3;\n  const d = 4;');
  });

  it('closes a fence only with the same character and at least the same length', () => {
    expect(blocks[3]!.code).toBe('```');
  });

  it('treats an unclosed fence as running to the end of the document', () => {
    const open = extractTsBlocks('```ts\nconst x = 1;\n', 'a.md');
    expect(open).toHaveLength(1);
    expect(open[0]!.code).toBe('const x = 1;\n');
  });
});
