import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type PostgresService, startPostgres } from '@mcp-harden/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = join(import.meta.dirname, '..', 'dist', 'main.js');

/** Waits for the child to print `pattern` on stderr (when given) or to exit; resolves with what it printed. */
function waitFor(
  child: ChildProcess,
  pattern?: RegExp,
): Promise<{ stderr: string; exitCode: number | null }> {
  return new Promise((resolve) => {
    let stderr = '';
    const done = (exitCode: number | null) => resolve({ stderr, exitCode });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (pattern?.test(stderr)) done(null);
    });
    child.once('exit', (code) => done(code));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

let pg: PostgresService;
const passwords = {
  PG_READER_PASSWORD: randomBytes(18).toString('base64url'),
  PG_WRITER_PASSWORD: randomBytes(18).toString('base64url'),
};

beforeAll(async () => {
  if (!existsSync(main))
    throw new Error('build the example first: pnpm --filter @mcp-harden/example-postgres-tools build');
  pg = await startPostgres();
}, 60_000);

afterAll(async () => {
  await pg?.stop();
});

describe('pnpm start (dist/main.js)', () => {
  it('migrates, serves /mcp and /ready on loopback, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        ...passwords,
        NODE_ENV: 'development',
        DATABASE_ADMIN_URL: pg.url,
        PORT: String(port),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      const started = await waitFor(child, /listening on http:\/\/127\.0\.0\.1:\d+\/mcp/);
      expect(started.exitCode, started.stderr).toBeNull();
      const ready = await fetch(`http://127.0.0.1:${port}/ready`);
      expect(ready.status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 30_000);

  it('refuses to start with NODE_ENV=production, without a stack trace', async () => {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, ...passwords, NODE_ENV: 'production', DATABASE_ADMIN_URL: pg.url, PORT: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const { stderr, exitCode } = await waitFor(child);
    expect(exitCode).toBe(2);
    expect(stderr).toContain('NODE_ENV=production needs real authentication');
    expect(stderr).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('refuses to start without the role passwords', async () => {
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH, NODE_ENV: 'development', DATABASE_ADMIN_URL: pg.url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const { stderr, exitCode } = await waitFor(child);
    expect(exitCode).toBe(2);
    expect(stderr).toContain('PG_READER_PASSWORD is required');
  });

  it('refuses to start with an invalid policy file: exit 2, file:line:column and field, no stack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postgres-tools-policy-'));
    try {
      const broken = join(dir, 'broken.yaml');
      const text = readFileSync(join(import.meta.dirname, '..', 'policy.yaml'), 'utf8');
      expect(text).toContain('  default: deny');
      writeFileSync(broken, text.replace('  default: deny', '  default: denied'));
      const child = spawn(process.execPath, [main], {
        env: {
          ...process.env,
          ...passwords,
          NODE_ENV: 'development',
          DATABASE_ADMIN_URL: pg.url,
          POLICY_FILE: broken,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const { stderr, exitCode } = await waitFor(child);
      expect(exitCode).toBe(2);
      expect(stderr).toMatch(/postgres-tools: .*broken\.yaml:\d+:\d+: authorization\.default: /);
      expect(stderr).not.toMatch(/\bat .+:\d+:\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
