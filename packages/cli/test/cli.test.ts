import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLock } from '@mcp-harden/versioning';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const bin = resolve(here, '../dist/cli.js');
const fixture = (name: string) => resolve(here, 'fixtures', name);
let dir: string;

beforeAll(() => {
  if (!existsSync(bin))
    throw new Error('dist/cli.js is missing: run `pnpm --filter @mcp-harden/cli build` first');
  dir = mkdtempSync(join(tmpdir(), 'mcp-harden-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built bin in a child process. */
function cli(args: string[], variant = 'base'): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, env: { ...process.env, SURFACE_VARIANT: variant }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code as number) : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

const json = (run: Run) => JSON.parse(run.stdout) as Record<string, unknown>;

describe('mcp-harden lock', () => {
  it('writes mcp-tools.lock.json from a server module and reports what it wrote', async () => {
    const run = await cli(['lock', fixture('server.mjs')]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(
      'Wrote mcp-tools.lock.json from createServer(): 2 tool(s), 1 prompt(s), 1 resource template(s)',
    );
    const lock = readLock(readFileSync(join(dir, 'mcp-tools.lock.json'), 'utf8'));
    expect(Object.keys(lock.tools)).toEqual(['ping', 'search']);
    expect(lock.tools.search!.authorized).toBe(true);
    expect(lock.tools.ping!.authorized).toBe(false);
    expect(lock.tools.search!.inputSchema).toMatchObject({ required: ['query'] });
  });

  it('writes the same bytes twice and prints JSON with --json', async () => {
    const out = join(dir, 'again.lock.json');
    await cli(['lock', fixture('server.mjs'), '--out', out]);
    const first = readFileSync(out, 'utf8');
    const run = await cli(['lock', fixture('server.mjs'), '--out', out, '--json']);
    expect(run.code).toBe(0);
    expect(json(run)).toMatchObject({
      ok: true,
      counts: { tools: 2, prompts: 1, resourceTemplates: 1 },
      changes: [],
    });
    expect(readFileSync(out, 'utf8')).toBe(first);
  });

  it('accepts a default export that is a plain McpServer', async () => {
    const run = await cli(['lock', fixture('plain.mjs'), '--out', 'plain.lock.json', '--json']);
    expect(json(run)).toMatchObject({ ok: true, source: 'default', counts: { tools: 1, prompts: 0 } });
  });
});

describe('mcp-harden check', () => {
  const lockFile = () => join(dir, 'base.lock.json');
  beforeAll(async () => {
    const run = await cli(['lock', fixture('server.mjs'), '--out', lockFile()]);
    expect(run.code).toBe(0);
  });

  it('exits 0 when the surface matches the lock', async () => {
    const run = await cli(['check', fixture('server.mjs'), '--lock', lockFile()]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('The tool surface matches the lock.');
  });

  it('exits 0 on a compatible change and says so', async () => {
    const run = await cli(['check', fixture('server.mjs'), '--lock', lockFile()], 'optional-arg');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('optional argument `lang` added');
  });

  it.each([
    ['required-arg', 'tool:search:argument-added-required:tenant', 'breaking'],
    ['removed', 'tool:ping:removed', 'breaking'],
    ['invisible', 'tool:search:description-changed', 'risky'],
    ['destructive', 'tool:search:annotations-destructive', 'risky'],
    ['new-tool', 'tool:wipe:added-without-authorization', 'risky'],
  ])('exits 1 on the %s variant (%s)', async (variant, id, level) => {
    const run = await cli(['check', fixture('server.mjs'), '--lock', lockFile(), '--json'], variant);
    expect(run.code).toBe(1);
    const report = json(run);
    expect(report.ok).toBe(false);
    expect(report.unaccepted).toEqual([id]);
    expect((report.changes as Array<{ id: string; level: string }>).find((c) => c.id === id)?.level).toBe(
      level,
    );
  });

  it('prints a readable report naming invisible characters', async () => {
    const run = await cli(['check', fixture('server.mjs'), '--lock', lockFile()], 'invisible');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('RISKY (1)');
    expect(run.stdout).toContain('invisible Unicode characters only (added U+200B)');
    expect(run.stdout).toContain('id: tool:search:description-changed');
    expect(run.stdout).toContain('FAILED: 1 breaking or risky change(s) not accepted in the lock.');
  });

  it('exits 0 for a new tool declared with an authorization rule', async () => {
    const run = await cli(
      ['check', fixture('server.mjs'), '--lock', lockFile(), '--json'],
      'new-tool-with-rule',
    );
    expect(run.code).toBe(0);
    expect(json(run)).toMatchObject({ ok: true, counts: { breaking: 0, risky: 0, compatible: 1 } });
  });

  it('exits 0 when the lock accepts the change', async () => {
    const lock = JSON.parse(readFileSync(lockFile(), 'utf8'));
    lock.accepted = [{ id: 'tool:ping:removed', reason: 'ping retired in PLAT-7' }];
    const accepting = join(dir, 'accepting.lock.json');
    writeFileSync(accepting, JSON.stringify(lock));
    const run = await cli(['check', fixture('server.mjs'), '--lock', accepting], 'removed');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('✓ accepted tool `ping`: removed');
  });
});

describe('usage and input errors exit 2 without a stack', () => {
  it.each([
    [['check', 'server.mjs', '--lock', 'missing.lock.json'], /lock file not found: missing\.lock\.json/],
    [['lock'], /missing <module>/],
    [['lock', 'a.mjs', 'b.mjs'], /unexpected argument b\.mjs/],
    [['lock', fixture('server.mjs'), '--frobnicate'], /Unknown option '--frobnicate'/],
    [['lock', 'nowhere.mjs'], /server module not found: nowhere\.mjs/],
    [['lock', fixture('broken.mjs')], /cannot load .*broken\.mjs: cannot start: missing configuration/],
    [['lock', fixture('no-server.mjs')], /is not an McpServer, Server or HardenedServer/],
    [['lock', fixture('server.mjs'), '--timeout', 'soon'], /--timeout must be a positive integer/],
    [['frobnicate'], /unknown command: frobnicate/],
  ])('%j', async (args, message) => {
    const run = await cli(args as string[]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('reports a module whose factory throws', async () => {
    const run = await cli(['lock', fixture('server.mjs'), '--out', 'x.json'], 'throws');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('createServer() in');
    expect(run.stderr).toContain('database unreachable');
  });

  it('reports a malformed lock file with the field at fault', async () => {
    const lock = JSON.parse(readFileSync(join(dir, 'mcp-tools.lock.json'), 'utf8'));
    lock.tools.search.description = 'tampered';
    writeFileSync(join(dir, 'tampered.lock.json'), JSON.stringify(lock));
    const run = await cli(['check', fixture('server.mjs'), '--lock', 'tampered.lock.json', '--json']);
    expect(run.code).toBe(2);
    expect(json(run)).toMatchObject({
      ok: false,
      error: { code: 'USAGE', message: expect.stringContaining('tools.search.fingerprints.description') },
    });
  });
});

describe('help', () => {
  it('lists commands and exit codes', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/lock\s+Write the tool-surface lock/);
    expect(run.stdout).toMatch(/check\s+Check a server module/);
    expect(run.stdout).toContain('2  usage or input error');
  });

  it.each(['lock', 'check'])('has --help on %s', async (name) => {
    const run = await cli([name, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: mcp-harden ${name} <module>`);
    expect(run.stdout).toContain('--json');
    expect(run.stdout).toContain('Exit codes:');
  });

  it('prints help on stderr and exits 2 without a command', async () => {
    const run = await cli([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: mcp-harden <command>');
  });
});
