import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@mcp-harden/cli';
import { captureSurface, diffSurface, listSurface, readLock } from '@mcp-harden/versioning';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
// The server names its audit spill directory by reference; this suite's is removed at the end.
const spillDir = mkdtempSync(join(tmpdir(), 'conformance-policy-test-'));
process.env.CONFORMANCE_AUDIT_SPILL_DIR = spillDir;
const { createServer: createServedServer, POLICY_FILE, policy } = await import('../src/server.js');
const { createServer } = await import('../src/surface.js');
afterAll(() => {
  delete process.env.CONFORMANCE_AUDIT_SPILL_DIR;
  rmSync(spillDir, { recursive: true, force: true });
});

/** Lists the surface module's tools, prompts, resources and templates with the official SDK client. */
async function listed() {
  const hardened = createServer();
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'policy-test', version: '1.0.0' });
  await hardened.server.connect(serverSide);
  await client.connect(clientSide);
  try {
    return {
      surface: await listSurface(client),
      resources: (await client.listResources()).resources.map((r) => r.uri),
      authorized: (tool: string) => hardened.policies.lookup('tool', tool)?.rule !== undefined,
    };
  } finally {
    await client.close();
    await hardened.close();
  }
}

describe('the policy file and the tool-surface lock of the conformance server', () => {
  it('passes `mcp-harden validate policy.yaml` (exit 0)', async () => {
    let out = '';
    let err = '';
    const code = await runCli(['validate', 'policy.yaml'], {
      cwd: root,
      env: {},
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
    });
    expect(err).toBe('');
    expect(out).toContain('policy.yaml: valid (mcp-harden-conformance 1.0.0');
    expect(code).toBe(0);
  });

  it('loads the file the server is built from', () => {
    expect(POLICY_FILE).toBe(join(root, 'policy.yaml'));
    expect(policy.filename).toBe(POLICY_FILE);
    // The file names the spill directory by reference; the process fills it in.
    expect(policy.effective.audit?.spillDir).toBe(spillDir);
  });

  it('gives every registered tool, prompt and resource a rule, and names nothing else', async () => {
    const { surface, resources } = await listed();
    const names = (items: unknown) => (items as Array<{ name: string }>).map((i) => i.name).sort();
    const p = policy.effective;
    expect(names(surface.tools)).toEqual(Object.keys(p.tools ?? {}).sort());
    expect(names(surface.prompts)).toEqual(Object.keys(p.prompts ?? {}).sort());
    const templates = (surface.resourceTemplates as unknown as Array<{ uriTemplate: string }>).map(
      (t) => t.uriTemplate,
    );
    expect([...resources, ...templates].sort()).toEqual(Object.keys(p.resources ?? {}).sort());
    for (const kind of ['tools', 'prompts', 'resources'] as const) {
      for (const [name, target] of Object.entries(p[kind] ?? {})) {
        expect(target.rule, `${kind}.${name}`).toEqual({ roles: ['tester'] });
      }
    }
  });

  it('matches the committed mcp-tools.lock.json, every tool recorded with its rule', async () => {
    const { surface, authorized } = await listed();
    const lock = readLock(readFileSync(join(root, 'mcp-tools.lock.json'), 'utf8'));
    const live = captureSurface({ ...surface, authorizedTools: authorized });
    const diff = diffSurface(lock, live);
    expect(diff.changes).toEqual([]);
    expect(diff.ok).toBe(true);
    expect(Object.values(lock.tools).every((t) => t.authorized === true)).toBe(true);
    expect(Object.keys(lock.tools)).toHaveLength(14);
  });

  it('serves through the chain the file builds: the development principal (role tester) is allowed', async () => {
    const hardened = createServedServer();
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'policy-test', version: '1.0.0' });
    await hardened.connect(serverSide);
    await client.connect(clientSide);
    try {
      expect((await client.listTools()).tools).toHaveLength(14);
      const result = await client.callTool({ name: 'test_simple_text', arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: 'This is a simple text response for testing.' }]);
      const unknown = await client.callTool({ name: 'not_in_the_policy', arguments: {} }).catch((e) => e);
      // Outside the file: rbac's default deny, indistinguishable from a tool that does not exist.
      expect(unknown).toMatchObject({ data: { code: 'ERR_NOT_FOUND' } });
    } finally {
      await client.close();
      await hardened.server.close();
    }
  });
});
