import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Builds dist once before any test file runs: the script tests run `dist/demo.js` and `dist/main.js`. */
export default function buildOnce(): void {
  execFileSync('pnpm', ['run', 'build'], {
    cwd: join(dirname(fileURLToPath(import.meta.url)), '..'),
    stdio: 'ignore',
  });
}
