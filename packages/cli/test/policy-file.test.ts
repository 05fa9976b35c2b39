import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runBin } from './bin.js';

const fixture = resolve(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'policy-built.mjs');
let dir: string;

const POLICY = `version: 1
server: { name: policy-built, version: 1.0.0, owner: team }
authentication:
  # a reference the machine running check does not hold: the rules are read without it
  bearer: { issuer: "\${env:NOT_SET_IN_CI}", audience: notes, jwksUrl: "https://issuer.example/jwks", algorithms: [ES256] }
tools:
  ping: { rule: allow }
  notes_read: { rule: { scopes: [notes:read] } }
  notes_purge: { description: no rule here }
environments:
  strict:
    tools:
      notes_purge: { rule: { scopes: [notes:admin] } }
`;

beforeAll(() => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'mcp-harden-cli-policy-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[], variant = 'base') => runBin(args, dir, { SURFACE_VARIANT: variant });
type Report = { ok: boolean; unaccepted: string[]; changes: Array<{ id: string; level: string }> };

describe('--policy <file>: rules of a policy file count as authorization', () => {
  beforeAll(async () => {
    const locked = await run(['lock', fixture, '--out', 'base.lock.json', '--policy', 'policy.yaml']);
    expect(locked).toMatchObject({ code: 0, stderr: '' });
  });

  it('check: the new tool with a rule in the file is compatible, the one without is risky', async () => {
    const result = await run(
      ['check', fixture, '--lock', 'base.lock.json', '--policy', 'policy.yaml', '--json'],
      'grown',
    );
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.unaccepted).toEqual(['tool:notes_purge:added-without-authorization']);
    expect(report.changes.find((c) => c.id.startsWith('tool:notes_read:'))?.level).toBe('compatible');
    const text = await run(
      ['check', fixture, '--lock', 'base.lock.json', '--policy', 'policy.yaml'],
      'grown',
    );
    expect(text.stdout).toContain('without an authorization rule');
    expect(text.stdout).toContain('notes_purge');
  });

  it('check without --policy sees no rule anywhere (the gap the option closes)', async () => {
    const result = await run(['check', fixture, '--lock', 'base.lock.json', '--json'], 'grown');
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as Report).unaccepted.sort()).toEqual([
      'tool:notes_purge:added-without-authorization',
      'tool:notes_read:added-without-authorization',
      'tool:ping:authorization-removed', // locked with --policy as authorized
    ]);
  });

  it('--policy-env merges the environment: its rule for notes_purge counts', async () => {
    const result = await run(
      [
        'check',
        fixture,
        '--lock',
        'base.lock.json',
        '--policy',
        'policy.yaml',
        '--policy-env',
        'strict',
        '--json',
      ],
      'grown',
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect((JSON.parse(result.stdout) as Report).ok).toBe(true);
  });

  it('lock --policy records which tools are authorized', async () => {
    const locked = await run(
      ['lock', fixture, '--out', 'grown.lock.json', '--policy', 'policy.yaml'],
      'grown',
    );
    expect(locked.code).toBe(0);
    const lock = JSON.parse(readFileSync(join(dir, 'grown.lock.json'), 'utf8')) as {
      tools: Record<string, { authorized?: boolean }>;
    };
    expect(lock.tools.notes_read?.authorized).toBe(true);
    expect(lock.tools.ping?.authorized).toBe(true);
    expect(lock.tools.notes_purge?.authorized).toBe(false);
  });

  it('a missing or invalid policy file exits 2 with a message, no stack', async () => {
    const missing = await run(['check', fixture, '--lock', 'base.lock.json', '--policy', 'nope.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('policy file not found: nope.yaml');
    writeFileSync(join(dir, 'bad.yaml'), 'version: 1\ntools: { x: { rule: 42 } }\n');
    const bad = await run(['check', fixture, '--lock', 'base.lock.json', '--policy', 'bad.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad.yaml');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const env = await run(['check', fixture, '--lock', 'base.lock.json', '--policy-env', 'strict']);
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('--policy-env needs --policy');
  });
});
