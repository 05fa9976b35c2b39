import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/index.js';
import { assertBuilt, runBin } from './bin.js';

const README = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

/** The `### \`mcp-harden <name>\`` sections of the README, by command name. */
function sections(): Map<string, string> {
  const found = new Map<string, string>();
  const parts = README.split(/^### `mcp-harden ([a-z -]+)`$/m);
  for (let i = 1; i < parts.length; i += 2) {
    found.set(parts[i]!, parts[i + 1]!.split(/^## /m)[0]!);
  }
  return found;
}

beforeAll(assertBuilt);

describe('every registered command is documented and has --help', () => {
  it('registers the six commands of the CLI', () => {
    expect(COMMANDS.map((c) => c.name)).toEqual([
      'lock',
      'check',
      'validate',
      'explain',
      'token',
      'audit verify',
    ]);
  });

  it('has one README section per registered command and none for unknown ones', () => {
    expect([...sections().keys()].sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  describe.each(COMMANDS.map((c) => [c.name, c] as const))('%s', (name, command) => {
    it('is documented with usage, every option, its exit codes and an example', () => {
      const section = sections().get(name)!;
      expect(section, `README section for ${name}`).toBeDefined();
      // Usage line: the command and its positionals as the command declares them.
      const declared = command.usage.split(' [')[0]!.split(' (')[0]!;
      expect(section).toContain(`mcp-harden ${declared}`);
      for (const option of [...Object.keys(command.options ?? {}), 'json']) {
        expect(section, `--${option} of ${name}`).toContain(`--${option}`);
      }
      const exits = section.slice(section.indexOf('Exit codes:'));
      expect(section).toContain('Exit codes:');
      expect(exits).toContain('`0`');
      expect(exits).toContain('`2`');
      if (command.exitCodes?.[1]) expect(exits.split('\n\n')[0]).toContain('`1`');
      else expect(exits.split('\n\n')[0]).not.toContain('`1`');
      expect(section, `example of ${name}`).toMatch(new RegExp(`\`\`\`sh\\n[^]*mcp-harden ${name}`));
    });

    it('has --help with its usage, options and exit codes', async () => {
      const run = await runBin([...name.split(' '), '--help'], tmpdir());
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout.startsWith(`Usage: mcp-harden ${command.usage}\n`)).toBe(true);
      for (const option of [...Object.keys(command.options ?? {}), 'help', 'json']) {
        expect(run.stdout).toContain(`--${option}`);
      }
      expect(run.stdout).toContain('Exit codes:\n  0  ok\n');
      if (command.exitCodes?.[1]) expect(run.stdout).toContain(`  1  ${command.exitCodes[1]}\n`);
      else expect(run.stdout).not.toMatch(/^ {2}1 {2}/m);
      expect(run.stdout).toMatch(/^ {2}2 {2}\S/m);
    });
  });

  it('lists every command with its one-line summary and what exit code 1 means for it', async () => {
    const run = await runBin(['--help'], tmpdir());
    expect(run.code).toBe(0);
    for (const command of COMMANDS) {
      expect(run.stdout).toMatch(new RegExp(`^ {2}${command.name} +${escapeRegExp(command.summary)}$`, 'm'));
      if (command.exitCodes?.[1]) {
        expect(run.stdout).toMatch(
          new RegExp(`^ +${command.name} +${escapeRegExp(command.exitCodes[1])}$`, 'm'),
        );
      }
    }
    expect(run.stdout).toContain('  1  check failed / denied / broken chain:');
    expect(run.stdout).toContain('  2  usage or input error');
  });
});

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
