import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Persona, Tenant } from '../src/auth.js';
import { configFromEnv } from '../src/config.js';
import { type RunningQuickstart, startQuickstart } from '../src/server.js';

describe('the quickstart server, driven by the official SDK client over HTTP', () => {
  let server: RunningQuickstart;
  let dir: string;
  const clients: Client[] = [];

  const as = async (tenant: Tenant, persona: Persona) => {
    const client = new Client({ name: 'server-test', version: '1.0.0' });
    const headers = { Authorization: `Bearer ${server.devTokens![tenant][persona]}` };
    await client.connect(new StreamableHTTPClientTransport(server.url, { requestInit: { headers } }));
    clients.push(client);
    return client;
  };
  const text = (result: unknown) =>
    ((result as { content: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('\n');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'quickstart-server-'));
    server = await startQuickstart(configFromEnv({ PORT: '0', AUDIT_DIR: dir }), { log: () => {} });
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists to each persona only the tools it may call', async () => {
    const names = async (persona: Persona) =>
      (await (await as('acme', persona)).listTools()).tools.map((t) => t.name).sort();
    expect(await names('reader')).toEqual(['notes_list', 'notes_read', 'whoami']);
    expect(await names('writer')).toEqual(['notes_list', 'notes_read', 'notes_write', 'whoami']);
    expect(await names('admin')).toEqual([
      'admin_reset',
      'notes_list',
      'notes_read',
      'notes_write',
      'whoami',
    ]);
  });

  it('shows the note template, and lists only the caller tenant’s notes as resources', async () => {
    const reader = await as('globex', 'reader');
    const { resourceTemplates } = await reader.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['notes://{tenant}/{id}']);
    const { resources } = await reader.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual(['notes://globex/1', 'notes://globex/2']);
    expect((await reader.listPrompts()).prompts.map((p) => p.name)).toEqual(['summarize_notes']);
  });

  it('keeps tenants apart: resources by URI, and tools by the verified tenant', async () => {
    const globexWriter = await as('globex', 'writer');
    const acmeReader = await as('acme', 'reader');
    await expect(globexWriter.readResource({ uri: 'notes://acme/2' })).rejects.toMatchObject({
      code: 403,
      message: expect.stringContaining('ERR_FORBIDDEN'),
    });
    expect(
      text(
        await globexWriter.callTool({ name: 'notes_write', arguments: { title: 'Globex only', body: 'x' } }),
      ),
    ).toMatch(/^Saved note \d+$/);
    expect(text(await acmeReader.callTool({ name: 'notes_list', arguments: {} }))).not.toContain(
      'Globex only',
    );
    const own = await globexWriter.readResource({ uri: 'notes://globex/1' });
    const body = JSON.stringify(own.contents);
    expect(body).toContain('[REDACTED:aws-access-key-id]');
    expect(body).not.toContain('AKIAGLOBEXEXAMPLE234');
    expect(body).not.toContain('ops@globex.example.com');
  });

  it('refuses notes_write arguments beyond its schema before the handler runs', async () => {
    const writer = await as('acme', 'writer');
    const before = text(await writer.callTool({ name: 'notes_list', arguments: {} }));
    const refused = await writer
      .callTool({ name: 'notes_write', arguments: { title: 't', body: 'b', owner: 'globex' } })
      .then(
        () => undefined,
        (err: McpError) => err,
      );
    expect(refused?.code).toBe(-32602);
    expect(refused?.data).toMatchObject({ code: 'ERR_INVALID_ARGUMENTS' });
    expect(text(await writer.callTool({ name: 'notes_list', arguments: {} }))).toBe(before);
  });

  it('lets an admin reset only through admin_reset', async () => {
    const admin = await as('acme', 'admin');
    await admin.callTool({ name: 'notes_write', arguments: { title: 'Temporary', body: 'x' } });
    expect(text(await admin.callTool({ name: 'admin_reset', arguments: {} }))).toBe(
      'Notes reset to the seed data',
    );
    expect(text(await admin.callTool({ name: 'notes_list', arguments: {} }))).toBe(
      '1: CI credentials\n2: Roadmap',
    );
  });
});
