import { describe, expect, it } from 'vitest';
import { type CliCommand, COMMANDS, defineCommand, EXIT_CODES, runCli, UsageError } from '../src/index.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), cwd: '/', env: {} },
    out,
    err,
  };
}

const seen: Array<{ positionals: string[]; values: Record<string, unknown>; json: boolean }> = [];
const verify = defineCommand({
  name: 'audit verify',
  summary: 'Verify an audit chain',
  usage: 'audit verify <file> [--from <n>]',
  positionals: { min: 1, max: 1, names: ['file'] },
  options: { from: { type: 'string', value: '<n>', description: 'First record' } },
  async run({ positionals, values, json }) {
    seen.push({ positionals, values, json });
    if (positionals[0] === 'bad') throw new UsageError('bad: line 3: hash mismatch');
    if (positionals[0] === 'boom') throw new Error('unexpected');
    return positionals[0] === 'broken' ? EXIT_CODES.checkFailed : EXIT_CODES.ok;
  },
});
const audit = defineCommand({
  name: 'audit',
  summary: 'Audit tools',
  usage: 'audit',
  async run() {
    return EXIT_CODES.ok;
  },
});
// Stand-ins for the real `audit verify` (tested on the built bin in audit-verify.test.ts).
const table: CliCommand[] = [...COMMANDS.filter((c) => c.name !== 'audit verify'), audit, verify];

describe('runCli command table', () => {
  it('dispatches multi-word commands before shorter ones and parses their options', async () => {
    const { io } = capture();
    expect(await runCli(['audit', 'verify', 'chain.log', '--from', '3', '--json'], io, table)).toBe(0);
    expect(seen.at(-1)).toEqual({
      positionals: ['chain.log'],
      values: { from: '3', json: true },
      json: true,
    });
    expect(await runCli(['audit', 'verify', 'broken'], io, table)).toBe(EXIT_CODES.checkFailed);
    expect(await runCli(['audit'], io, table)).toBe(0);
  });

  it('turns UsageError and unexpected errors into exit 2 with a message, never a stack', async () => {
    const a = capture();
    expect(await runCli(['audit', 'verify', 'bad'], a.io, table)).toBe(EXIT_CODES.usage);
    expect(a.err.join('')).toBe('mcp-harden: bad: line 3: hash mismatch\n');
    const b = capture();
    expect(await runCli(['audit', 'verify', 'boom', '--json'], b.io, table)).toBe(EXIT_CODES.usage);
    expect(JSON.parse(b.out.join(''))).toEqual({
      ok: false,
      error: { code: 'USAGE', message: 'audit verify failed: unexpected' },
    });
    expect(b.err).toEqual([]);
  });

  it('shows help for a multi-word command and lists it at the top level', async () => {
    const a = capture();
    expect(await runCli(['audit', 'verify', '--help'], a.io, table)).toBe(0);
    expect(a.out.join('')).toContain('Usage: mcp-harden audit verify <file> [--from <n>]');
    expect(a.out.join('')).toMatch(/--from <n>\s+First record/);
    const b = capture();
    expect(await runCli(['--help'], b.io, table)).toBe(0);
    expect(b.out.join('')).toMatch(/audit verify\s+Verify an audit chain/);
  });

  it('refuses malformed command definitions at definition time', () => {
    expect(() => defineCommand({ ...audit, name: 'Audit!' })).toThrow(TypeError);
    expect(() => defineCommand({ ...audit, run: undefined as never })).toThrow(TypeError);
    expect(() =>
      defineCommand({ ...audit, options: { json: { type: 'boolean', description: 'mine' } } }),
    ).toThrow(/reserved/);
  });
});
