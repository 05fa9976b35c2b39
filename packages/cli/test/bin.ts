import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built bin; the tests run it as users do, in a child process. */
export const BIN = resolve(fileURLToPath(new URL('.', import.meta.url)), '../dist/cli.js');

export function assertBuilt(): void {
  if (!existsSync(BIN))
    throw new Error('dist/cli.js is missing: run `pnpm --filter @mcp-harden/cli build` first');
}

export interface BinRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mcp-harden ...args` in `cwd` and resolves when it exits (never rejects). */
export function runBin(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<BinRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { ...process.env, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}
