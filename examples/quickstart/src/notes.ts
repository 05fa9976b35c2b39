import type { Principal } from '@mcp-harden/core';
import type { SanitizePolicy } from '@mcp-harden/sanitize';
import type { HardenedServer } from '@mcp-harden/sdk';
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Tracer } from '@opentelemetry/api';
import { z } from 'zod';
import { TENANTS, type Tenant } from './auth.js';

/** One note. */
export interface Note {
  id: string;
  title: string;
  body: string;
}

/**
 * Seed data. Note 1 of each tenant holds a fake cloud access key and an email address, so the
 * demo can show them leaving the server redacted (the stored data is untouched). Both keys have
 * the real format (AKIA + 16 base-32 characters), which is what the redaction rule matches.
 */
function seed(tenant: Tenant): Note[] {
  const key = tenant === 'acme' ? 'AKIAIOSFODNN7EXAMPLE' : 'AKIAGLOBEXEXAMPLE234';
  return [
    {
      id: '1',
      title: 'CI credentials',
      body: `Deploy bot access key ${key}; questions to ops@${tenant}.example.com`,
    },
    { id: '2', title: 'Roadmap', body: `Q3 for ${tenant}: ship the hardened MCP server.` },
  ];
}

/** An in-memory note store, one list per tenant. */
export class NoteStore {
  readonly #notes = new Map<string, Note[]>();

  constructor() {
    this.reset();
  }

  reset(): void {
    for (const tenant of TENANTS) this.#notes.set(tenant, seed(tenant));
  }

  list(tenant: string): readonly Note[] {
    return this.#notes.get(tenant) ?? [];
  }

  get(tenant: string, id: string): Note | undefined {
    return this.list(tenant).find((n) => n.id === id);
  }

  add(tenant: string, title: string, body: string): Note {
    const notes = this.#notes.get(tenant);
    if (!notes) throw new Error('unknown tenant');
    const note = { id: String(notes.length + 1), title, body };
    notes.push(note);
    return note;
  }
}

/** The principal `@mcp-harden/http` verified at the edge, as the SDK hands it to handlers. */
function principalOf(extra: { authInfo?: { extra?: Record<string, unknown> } }): Principal & {
  tenant: string;
} {
  const principal = extra.authInfo?.extra?.principal as Principal | undefined;
  // The pipeline refuses unauthenticated calls first; reaching here without one is a wiring bug.
  if (!principal?.tenant) throw new Error('no authenticated principal with a tenant');
  return principal as Principal & { tenant: string };
}

/** MCP's JSON-RPC code for an unknown resource. */
const RESOURCE_NOT_FOUND = -32002;

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

/** The resource template of notes; the tenant is part of the URI. */
export const NOTE_URI = 'notes://{tenant}/{id}';

/** `notes_write` arguments: the SDK validates them, sanitize refuses keys beyond them. */
const writeArguments = { title: z.string().min(1).max(200), body: z.string().max(10_000) };

/**
 * Registers the quickstart's tools, resource template and prompt on a hardened server.
 * Who may call each one is in `policy.yaml` (its `rule`s go to rbac through `fromPolicy`, and the
 * file's per-tool limits and redaction are declared with `harden(server, { policies })`).
 * Every handler works on the caller's own tenant; rbac refuses anything else before it runs.
 */
export function registerNotes(
  hardened: HardenedServer<McpServer>,
  store: NoteStore,
  options: { tracer: Tracer; writesPerMinute: number },
): void {
  const { tracer } = options;
  // A span around the store access shows, in the trace, where the request spent its time.
  const traced = <T>(name: string, fn: () => T): T =>
    tracer.startActiveSpan(name, (span) => {
      try {
        return fn();
      } finally {
        span.end();
      }
    });

  const { server } = hardened;
  server.registerTool('whoami', { description: 'Who the server thinks you are' }, async (extra) => {
    const p = principalOf(extra);
    return text(JSON.stringify({ subject: p.subject, tenant: p.tenant, scopes: p.scopes, roles: p.roles }));
  });

  server.registerTool('notes_list', { description: "Lists your tenant's notes" }, async (extra) => {
    const { tenant } = principalOf(extra);
    const notes = traced('notes.store list', () => store.list(tenant));
    return text(notes.map((n) => `${n.id}: ${n.title}`).join('\n'));
  });

  server.registerTool(
    'notes_read',
    { description: 'Reads one note of your tenant', inputSchema: { id: z.string().max(20) } },
    async ({ id }, extra) => {
      const { tenant } = principalOf(extra);
      const note = traced('notes.store get', () => store.get(tenant, id));
      if (!note) return { ...text(`No note ${id}`), isError: true };
      return text(`# ${note.title}\n${note.body}`);
    },
  );

  // The file declares notes_write's budget and strict arguments; code adds what only it has: the
  // input schema sanitize checks arguments against, and MCP_RATE_WRITE_PER_MIN as the budget.
  const declared = hardened.policies.lookup('tool', 'notes_write') ?? {};
  hardened
    .withPolicy({
      ...declared,
      rateLimit: {
        ...declared.rateLimit,
        limit: { points: options.writesPerMinute, duration: declared.rateLimit?.limit?.duration ?? 60 },
      },
      sanitize: {
        strict: true,
        ...declared.sanitize,
        inputSchema: z.object(writeArguments),
      } satisfies SanitizePolicy,
    })
    .registerTool(
      'notes_write',
      {
        description: 'Adds a note to your tenant',
        inputSchema: writeArguments,
      },
      async ({ title, body }, extra) => {
        const { tenant } = principalOf(extra);
        const note = traced('notes.store add', () => store.add(tenant, title, body));
        return text(`Saved note ${note.id}`);
      },
    );

  server.registerTool('admin_reset', { description: 'Restores the seed notes (admin only)' }, async () => {
    traced('notes.store reset', () => store.reset());
    return text('Notes reset to the seed data');
  });

  // Its rule is keyed by the template in policy.yaml; rbac reads {tenant} from each URI.
  server.registerResource(
    'note',
    new ResourceTemplate(NOTE_URI, {
      list: async (extra) => {
        const { tenant } = principalOf(extra);
        return {
          resources: store.list(tenant).map((n) => ({ uri: `notes://${tenant}/${n.id}`, name: n.title })),
        };
      },
    }),
    { description: 'A note of your tenant', mimeType: 'text/markdown' },
    async (uri, { tenant, id }, extra) => {
      const principal = principalOf(extra);
      // rbac already refused other tenants; checking again costs nothing and survives a policy mistake.
      const note = tenant === principal.tenant ? store.get(principal.tenant, String(id)) : undefined;
      if (!note) throw new McpError(RESOURCE_NOT_FOUND, `Resource ${uri.href} not found`);
      return {
        contents: [{ uri: uri.href, mimeType: 'text/markdown', text: `# ${note.title}\n${note.body}` }],
      };
    },
  );

  server.registerPrompt(
    'summarize_notes',
    { description: "Asks the model to summarise your tenant's notes" },
    async (extra) => {
      const { tenant } = principalOf(extra);
      const notes = store
        .list(tenant)
        .map((n) => `## ${n.title}\n${n.body}`)
        .join('\n\n');
      return {
        messages: [{ role: 'user', content: { type: 'text', text: `Summarise these notes:\n\n${notes}` } }],
      };
    },
  );
}
