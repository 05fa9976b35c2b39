import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

// The built `mcp-harden` bin (build @mcp-harden/policy and @mcp-harden/cli first).
const BIN = join(import.meta.dirname, '../../cli/dist/cli.js');
const QUICKSTART = join(import.meta.dirname, 'fixtures/quickstart.policy.yaml');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', ...env }, cwd, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const HEAD = 'version: 1\nserver: { name: notes, version: 1.0.0, owner: team }\n';

/** One malformed policy per kind of mistake, with where the message must point. */
const MALFORMED = {
  'wrong type': {
    text: `${HEAD}rateLimit:\n  limits:\n    principal: { points: "many", duration: 60 }\n`,
    expect:
      /bad\.yaml:5:26: rateLimit\.limits\.principal\.points: Invalid input: expected number, received string/,
  },
  'unknown key': {
    text: `${HEAD}tools:\n  search:\n    rule: allow\n    timeout_ms: 5000\n`,
    expect: /bad\.yaml:6:5: tools\.search\.timeout_ms: unknown key "timeout_ms"/,
  },
  'inline secret': {
    text: `${HEAD}audit:\n  sinks: [{ type: stdout }]\n  spillDir: /var/lib/notes/spill\n  argumentsDigestKey: q7Hc9LzP2mX4vR8tY1wK6sB3nF0jD5gA\n`,
    expect:
      /bad\.yaml:6:23: audit\.argumentsDigestKey: looks like an inline secret \(.+\); .*use \$\{env:NAME\} or \$\{file:\/path\}/,
    secret: 'q7Hc9LzP2mX4vR8tY1wK6sB3nF0jD5gA',
  },
  'rule naming an unknown role': {
    text: `${HEAD}roles:\n  reader: {}\ntools:\n  purge:\n    rule:\n      all:\n        - { scopes: [notes:admin] }\n        - { roles: [superuser] }\n`,
    expect:
      /bad\.yaml:10:21: tools\.purge\.rule\.all\[1\]\.roles\[0\]: role "superuser" is not declared under roles \(declared: reader\)/,
  },
  'YAML syntax error': {
    text: `${HEAD}tools:\n  search:\n    rule: allow\n   description: bad indentation\n`,
    expect: /bad\.yaml:6:\d+: syntax error: /,
  },
} as const;

describe('mcp-harden validate / explain / token (built bin, child process)', () => {
  const tmp = tempDir();
  beforeAll(() => {
    if (!existsSync(BIN))
      throw new Error(`build the CLI first: pnpm --filter @mcp-harden/cli build (${BIN})`);
  });
  afterAll(() => tmp.cleanup());

  for (const [name, c] of Object.entries(MALFORMED)) {
    it(`refuses a policy with a ${name}: precise message, exit code 2`, async () => {
      writeFileSync(join(tmp.dir, 'bad.yaml'), c.text);
      const r = await run(['validate', 'bad.yaml'], {}, tmp.dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(c.expect);
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
      if ('secret' in c) expect(r.stderr).not.toContain(c.secret);
      const json = await run(['validate', 'bad.yaml', '--json'], {}, tmp.dir);
      expect(json.code).toBe(2);
      const doc = JSON.parse(json.stdout) as { ok: boolean; issues: Array<{ line: number; path: string }> };
      expect(doc.ok).toBe(false);
      expect(doc.issues.length).toBeGreaterThan(0);
      expect(doc.issues[0]!.line).toBeGreaterThan(0);
    });
  }

  it('accepts the quickstart policy (exit 0, --json summary)', async () => {
    const r = await run(['validate', QUICKSTART]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('valid (quickstart-notes 1.0.0');
    const json = JSON.parse((await run(['validate', QUICKSTART, '--json', '--env', 'production'])).stdout);
    expect(json).toMatchObject({ ok: true, environment: 'production', tools: 5, resources: 1, prompts: 1 });
  });

  it('explains: exit 0 when allowed, 1 when denied, with rule and limits', async () => {
    const claims = join(tmp.dir, 'rita.json');
    writeFileSync(claims, JSON.stringify({ sub: 'rita', scope: 'notes:read', tenant: 'acme' }));
    const denied = await run(['explain', QUICKSTART, '--tool', 'notes_write', '--principal', claims]);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toContain('DENIED: rita -> tool notes_write');
    expect(denied.stdout).toContain('rule:    requireScopes(notes:write) (missing scopes)');
    expect(denied.stdout).toContain('principalTool 20/60s');
    const allowed = await run([
      'explain',
      QUICKSTART,
      '--tool',
      'notes_list',
      '--principal',
      claims,
      '--json',
    ]);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({
      ok: true,
      allowed: true,
      rule: 'all(requireScopes(notes:read), requireTenant)',
      limits: { cost: 1, principal: { points: 300, duration: 60 } },
      timeoutMs: 10000,
    });
    const anonymous = await run(['explain', QUICKSTART, '--tool', 'whoami', '--anonymous', '--json']);
    expect(anonymous.code).toBe(1);
    expect(JSON.parse(anonymous.stdout)).toMatchObject({ allowed: false, errorCode: 'ERR_UNAUTHENTICATED' });
  });

  it('explain refuses bad input with exit 2', async () => {
    writeFileSync(join(tmp.dir, 'list.json'), '[1,2]');
    const r = await run(['explain', QUICKSTART, '--tool', 'whoami', '--principal', 'list.json'], {}, tmp.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('principal list.json is not a JSON object');
    expect((await run(['explain', QUICKSTART, '--principal', 'list.json'], {}, tmp.dir)).code).toBe(2);
  });

  it('token: creates a dev key, mints a token that verifies, and refuses in production', async () => {
    const init = await run(['token', '--init-key', '--key', 'dev.key.json'], {}, tmp.dir);
    expect(init.code).toBe(0);
    const args = ['token', '--key', 'dev.key.json', '--sub', 'rita', '--issuer', 'https://dev.local/'];
    const minted = await run(
      [
        ...args,
        '--audience',
        'notes',
        '--scope',
        'notes:read',
        '--role',
        'reader',
        '--tenant',
        'acme',
        '--ttl',
        '60',
      ],
      {},
      tmp.dir,
    );
    expect(minted.code).toBe(0);
    const jwks = JSON.parse(readFileSync(join(tmp.dir, 'dev.key.jwks.json'), 'utf8'));
    expect(jwks.keys[0].d).toBeUndefined(); // the public file holds no private part
    const { payload } = await jwtVerify(minted.stdout.trim(), createLocalJWKSet(jwks), {
      issuer: 'https://dev.local/',
      audience: 'notes',
      algorithms: ['ES256'],
    });
    expect(payload).toMatchObject({ sub: 'rita', scope: 'notes:read', roles: ['reader'], tenant: 'acme' });
    expect(payload.exp! - payload.iat!).toBe(60);

    const refused = await run([...args, '--audience', 'notes'], { NODE_ENV: 'production' }, tmp.dir);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('refuses to run with NODE_ENV=production');
    // An existing key is never overwritten.
    expect((await run(['token', '--init-key', '--key', 'dev.key.json'], {}, tmp.dir)).code).toBe(2);
  });

  it('has --help on every command', async () => {
    for (const command of ['validate', 'explain', 'token']) {
      const r = await run([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: mcp-harden ${command}`);
      expect(r.stdout).toContain('Exit codes');
    }
  });
});
