import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@mcp-harden/cli';
import { loadPolicy } from '@mcp-harden/policy';
import { captureSurface, diffSurface, listSurface, readLock } from '@mcp-harden/versioning';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { describe, expect, it } from 'vitest';
import { POLICY_FILE } from '../src/server.js';
import { createServer } from '../src/surface.js';

const root = join(import.meta.dirname, '..');

/** Lists the surface module with the official SDK client in memory (no middleware, as the CLI does). */
async function listed() {
  const hardened = await createServer();
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'policy-test', version: '1.0.0' });
  await hardened.server.connect(serverSide);
  await client.connect(clientSide);
  try {
    return {
      surface: await listSurface(client),
      authorized: (tool: string) => hardened.policies.lookup('tool', tool)?.rule !== undefined,
    };
  } finally {
    await client.close();
    await hardened.server.close();
  }
}

describe('the policy file and the tool-surface lock of the quickstart', () => {
  it('passes `mcp-harden validate policy.yaml` (exit 0), also as JSON', async () => {
    let out = '';
    let err = '';
    const io = { cwd: root, env: {}, stdout: (t: string) => (out += t), stderr: (t: string) => (err += t) };
    expect(await runCli(['validate', 'policy.yaml'], io)).toBe(0);
    expect(out).toContain('policy.yaml: valid (mcp-harden-quickstart 0.1.0');
    out = '';
    expect(await runCli(['validate', 'policy.yaml', '--json'], io)).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ ok: true, tools: 5, resources: 1, prompts: 1 });
    expect(err).toBe('');
  });

  it('names the trusted issuer by reference only, and refuses to load without it', async () => {
    expect(POLICY_FILE).toBe(join(root, 'policy.yaml'));
    const text = readFileSync(POLICY_FILE, 'utf8');
    expect(text).toMatch(/\n {4}issuer: \$\{env:MCP_AUTH_ISSUER\}\n/);
    await expect(loadPolicy(POLICY_FILE, { env: {} })).rejects.toThrow(/MCP_AUTH_ISSUER/);
  });

  it('names exactly the registered tools, resource template and prompt, with their descriptions', async () => {
    const { surface } = await listed();
    const p = (await loadPolicy(POLICY_FILE, { resolveReferences: false })).effective;
    const tools = surface.tools as unknown as Array<{ name: string; description?: string }>;
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(p.tools ?? {}).sort());
    for (const tool of tools) expect(p.tools?.[tool.name]?.description, tool.name).toBe(tool.description);
    const templates = surface.resourceTemplates as unknown as Array<{
      uriTemplate: string;
      description?: string;
    }>;
    expect(templates.map((t) => t.uriTemplate)).toEqual(Object.keys(p.resources ?? {}));
    expect(p.resources?.[templates[0]!.uriTemplate]?.description).toBe(templates[0]!.description);
    const prompts = surface.prompts as unknown as Array<{ name: string; description?: string }>;
    expect(prompts.map((x) => x.name)).toEqual(Object.keys(p.prompts ?? {}));
    expect(p.prompts?.summarize_notes?.description).toBe(prompts[0]!.description);
  });

  it('matches the committed mcp-tools.lock.json, every tool recorded with its rule', async () => {
    const { surface, authorized } = await listed();
    const lock = readLock(readFileSync(join(root, 'mcp-tools.lock.json'), 'utf8'));
    const diff = diffSurface(lock, captureSurface({ ...surface, authorizedTools: authorized }));
    expect(diff.changes).toEqual([]);
    expect(diff.ok).toBe(true);
    expect(Object.keys(lock.tools).sort()).toEqual([
      'admin_reset',
      'notes_list',
      'notes_read',
      'notes_write',
      'whoami',
    ]);
    expect(Object.values(lock.tools).every((t) => t.authorized === true)).toBe(true);
  });

  it('classifies a tool the file gives a rule as compatible, and one without as risky', async () => {
    const { surface, authorized } = await listed();
    const lock = readLock(readFileSync(join(root, 'mcp-tools.lock.json'), 'utf8'));
    // As if admin_reset were new since the lock.
    const { admin_reset: _removed, ...others } = lock.tools;
    const before = { ...lock, tools: others };
    const withRule = diffSurface(before, captureSurface({ ...surface, authorizedTools: authorized }));
    expect(withRule.changes.map((c) => [c.id, c.level])).toEqual([['tool:admin_reset:added', 'compatible']]);
    expect(withRule.ok).toBe(true);
    const withoutRule = diffSurface(
      before,
      captureSurface({ ...surface, authorizedTools: (name) => name !== 'admin_reset' }),
    );
    expect(withoutRule.changes.map((c) => c.level)).toEqual(['risky']);
    expect(withoutRule.ok).toBe(false);
  });

  // dist is built by test/global-setup.ts.
  it('stops `pnpm start` (dist/main.js) on an invalid policy with exit code 2 and a located message, no stack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quickstart-policy-'));
    try {
      const broken = join(dir, 'broken.yaml');
      const text = readFileSync(POLICY_FILE, 'utf8');
      expect(text).toContain('  revealRequiredScopes: true\n');
      writeFileSync(broken, text.replace('  revealRequiredScopes: true\n', '  revealRequiredScope: true\n'));
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((done) => {
        const child = execFile(
          process.execPath,
          [join(root, 'dist', 'main.js')],
          {
            env: { PATH: process.env.PATH, PORT: '0', AUDIT_DIR: dir, POLICY_FILE: broken },
            timeout: 30_000,
          },
          (_err, _stdout, stderr) => done({ code: child.exitCode, stderr }),
        );
      });
      expect(code).toBe(2);
      expect(stderr).toMatch(
        /quickstart: .*broken\.yaml:\d+:\d+: authorization\.revealRequiredScope: unknown key/,
      );
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
