import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CheckResult, checkDocs, docFiles, formatErrors } from '../src/check.js';
import { extractTsBlocks } from '../src/extract.js';
import { KNOWN_BROKEN, KNOWN_MISSING_README } from './known-broken.js';

const root = join(import.meta.dirname, '..', '..', '..');
const outDir = join(import.meta.dirname, '..', '.generated');

interface Manifest {
  name: string;
  private?: boolean;
  devDependencies?: Record<string, string>;
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Manifest;

/** Published workspace packages: `packages/*` that are not private. */
const published = readdirSync(join(root, 'packages'))
  .sort()
  .flatMap((dir) => {
    try {
      const manifest = readJson(join(root, 'packages', dir, 'package.json'));
      return manifest.private ? [] : [{ dir, name: manifest.name }];
    } catch {
      return [];
    }
  });

let result: CheckResult;

beforeAll(() => {
  result = checkDocs({ root, outDir });
}, 120_000);

describe('TypeScript blocks in the docs', () => {
  it('covers the root README, docs/ and every package and example README', () => {
    const files = docFiles(root);
    expect(files).toContain('README.md');
    expect(files.some((f) => f.startsWith('docs/'))).toBe(true);
    expect(files.filter((f) => f.startsWith('packages/')).length).toBeGreaterThan(5);
    expect(result.checked).toBeGreaterThan(10);
  });

  it('type-check against the workspace packages (file:line (ts block N) for each error)', () => {
    const known = new Set(KNOWN_BROKEN.map((k) => `${k.file}#${k.block}`));
    const unexpected = result.errors.filter((e) => !known.has(`${e.file}#${e.block}`));
    expect(formatErrors(unexpected)).toBe('');
  });

  it('lists as known-broken only blocks that still fail', () => {
    const failing = new Set(result.errors.map((e) => `${e.file}#${e.block}`));
    const fixed = KNOWN_BROKEN.filter((k) => !failing.has(`${k.file}#${k.block}`));
    expect(fixed, 'these blocks pass now: remove them from test/known-broken.ts').toEqual([]);
  });

  it('opts out only with the no-check marker, and says where', () => {
    for (const block of result.skipped) expect(block.meta).toContain('no-check');
  });
});

describe('package READMEs', () => {
  const readme = (dir: string) => {
    try {
      return readFileSync(join(root, 'packages', dir, 'README.md'), 'utf8');
    } catch {
      return undefined;
    }
  };
  const withReadme = published.filter((p) => !KNOWN_MISSING_README.includes(p.dir));

  it.each(withReadme)('$name has a README with at least one checked TypeScript block', ({ dir }) => {
    const file = `packages/${dir}/README.md`;
    const text = readme(dir);
    expect(text, `${file} is missing`).toBeDefined();
    expect(extractTsBlocks(text!, file).filter((b) => !b.noCheck).length).toBeGreaterThan(0);
  });

  it('lists as missing only READMEs that are still missing', () => {
    const present = KNOWN_MISSING_README.filter((dir) => readme(dir) !== undefined);
    expect(present, 'these READMEs exist now: remove them from KNOWN_MISSING_README').toEqual([]);
  });

  it('every published package is a devDependency here, so doc imports resolve', () => {
    const mine = readJson(join(import.meta.dirname, '..', 'package.json')).devDependencies ?? {};
    const missing = published.map((p) => p.name).filter((name) => mine[name] !== 'workspace:*');
    expect(missing).toEqual([]);
  });
});
