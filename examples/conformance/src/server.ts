/**
 * An "everything" MCP server for the official conformance suite, run through harden() and
 * served by @mcp-harden/http. Every tool, resource and prompt the suite's server scenarios
 * call is implemented here; see README.md for what is wired in front of them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineMiddleware, type Middleware, type Principal } from '@mcp-harden/core';
import { serve, timeout } from '@mcp-harden/http';
import { fromPolicy, loadPolicy, type PolicyMap } from '@mcp-harden/policy';
import { harden } from '@mcp-harden/sdk';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  type JSONRPCMessage,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

// A 1x1 PNG and a minimal WAV, base64.
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';

/**
 * The suite's client is unauthenticated. In place of `@mcp-harden/auth`, this example (and only
 * this example) gives every request a fixed development principal, so rbac and audit see a caller.
 */
const DEV_PRINCIPAL: Principal = {
  subject: 'conformance-suite',
  clientId: 'conformance',
  scopes: [],
  roles: ['tester'],
  authMethod: 'static',
  claims: {},
};
const developmentPrincipal: Middleware = defineMiddleware(
  'dev-principal',
  async function devPrincipal(ctx, next) {
    ctx.principal = DEV_PRINCIPAL;
    return next();
  },
);

/** SEP-1613: tools/list must show this raw JSON Schema 2020-12 document unchanged. */
const SCHEMA_2020_12 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: {
    address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } },
  },
  properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
  additionalProperties: false,
};
/** The SDK derives inputSchema from zod; this middleware publishes the declared 2020-12 schema instead. */
const rawSchemas: Middleware = defineMiddleware('raw-schemas', async function publishRawSchemas(ctx, next) {
  const result = await next();
  if (ctx.method !== 'tools/list' || !Array.isArray(result.tools)) return result;
  return {
    ...result,
    tools: result.tools.map((tool: { name: string }) =>
      tool.name === 'json_schema_2020_12_tool' ? { ...tool, inputSchema: SCHEMA_2020_12 } : tool,
    ),
  };
});

/** Events in memory for SSE resumability (one replica). Use `redisEventStore` from @mcp-harden/http across replicas. */
function memoryEventStore(): EventStore {
  const events = new Map<EventId, { stream: StreamId; message: JSONRPCMessage }>();
  const streams = new Map<StreamId, EventId[]>();
  let seq = 0;
  return {
    async storeEvent(stream, message) {
      const id = String(++seq);
      events.set(id, { stream, message });
      streams.set(stream, [...(streams.get(stream) ?? []), id]);
      return id;
    },
    async getStreamIdForEventId(id) {
      return events.get(id)?.stream;
    },
    async replayEventsAfter(last, { send }) {
      const stream = events.get(last)?.stream;
      if (stream === undefined) return '';
      const ids = streams.get(stream) ?? [];
      for (const id of ids.slice(ids.indexOf(last) + 1)) {
        const message = events.get(id)?.message;
        if (message && 'jsonrpc' in message) await send(id, message);
      }
      return stream;
    },
  };
}

/**
 * The reviewed policy of this server, next to package.json (the same path from src/ and dist/):
 * who may call what, redaction, time-outs, telemetry and audit. `POLICY_FILE` names another one.
 */
export const POLICY_FILE =
  process.env.POLICY_FILE || fileURLToPath(new URL('../policy.yaml', import.meta.url));

// The audit spill directory is per process, so the file names it by reference.
const spillDir =
  process.env.CONFORMANCE_AUDIT_SPILL_DIR || mkdtempSync(join(tmpdir(), 'mcp-harden-conformance-audit-'));
const policy = await loadPolicy(POLICY_FILE, {
  env: { ...process.env, CONFORMANCE_AUDIT_SPILL_DIR: spillDir },
});
// Code supplies only what a file cannot hold: the fixed development principal.
const pipeline = fromPolicy(policy, { authentication: developmentPrincipal });

/**
 * The shared middleware chain, outermost first (built once; each session's server uses it):
 * audit, telemetry, dev-principal, rbac and sanitize from the policy file, then the time-out of
 * the file's `timeouts` and the raw-schema publisher, which are code.
 */
export const middleware: Middleware[] = [
  ...pipeline.use,
  timeout(pipeline.timeouts ?? { defaultMs: 30_000 }),
  rawSchemas,
];

function text(value: string) {
  return { content: [{ type: 'text' as const, text: value }] };
}

/** One server per session; all share `middleware` and the policies declared by the file. */
export function createServer() {
  return buildServer(middleware, pipeline.policies);
}

/**
 * The loaded policy file (see {@link POLICY_FILE}).
 */
export { policy };

/**
 * Builds the everything-server with `use` in front of every request and `policies` declared for
 * its targets: {@link createServer} passes the policy's chain, `src/surface.ts` none.
 */
export function buildServer(use: readonly Middleware[], policies: PolicyMap) {
  const server = new McpServer(
    { name: policy.effective.server.name, version: policy.effective.server.version },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
    },
  );
  const hardened = harden(server, { use: [...use], policies });

  server.registerTool('test_simple_text', { description: 'Returns simple text' }, async () =>
    text('This is a simple text response for testing.'),
  );
  server.registerTool('test_image_content', { description: 'Returns an image' }, async () => ({
    content: [{ type: 'image', data: PNG, mimeType: 'image/png' }],
  }));
  server.registerTool('test_audio_content', { description: 'Returns audio' }, async () => ({
    content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }],
  }));
  server.registerTool(
    'test_embedded_resource',
    { description: 'Returns an embedded resource' },
    async () => ({
      content: [
        {
          type: 'resource',
          resource: {
            uri: 'test://embedded-resource',
            mimeType: 'text/plain',
            text: 'This is an embedded resource content.',
          },
        },
      ],
    }),
  );
  server.registerTool(
    'test_multiple_content_types',
    { description: 'Returns text, image and a resource' },
    async () => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: PNG, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: '{"test":"data","value":123}',
          },
        },
      ],
    }),
  );
  server.registerTool(
    'test_tool_with_logging',
    { description: 'Logs while it runs', inputSchema: {} },
    async (_args, extra) => {
      for (const data of ['Tool execution started', 'Tool processing data', 'Tool execution completed']) {
        await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data } });
      }
      return text('Tool with logging executed successfully');
    },
  );
  server.registerTool(
    'test_tool_with_progress',
    { description: 'Reports progress', inputSchema: {} },
    async (_args, extra) => {
      const progressToken = extra._meta?.progressToken ?? 0;
      for (const progress of [0, 50, 100]) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` },
        });
      }
      return text(String(progressToken));
    },
  );
  server.registerTool('test_error_handling', { description: 'Always fails' }, async () => {
    throw new Error('This tool intentionally returns an error for testing');
  });
  server.registerTool(
    'test_reconnection',
    {
      description: 'Closes its SSE stream mid-call; the result arrives after the client reconnects',
      inputSchema: {},
    },
    async (_args, extra) => {
      extra.closeSSEStream?.();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return text(
        'Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.',
      );
    },
  );
  server.registerTool(
    'test_sampling',
    { description: 'Asks the client for an LLM completion', inputSchema: { prompt: z.string() } },
    async ({ prompt }) => {
      const result = await server.server.createMessage({
        messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
        maxTokens: 100,
      });
      const content = Array.isArray(result.content) ? result.content[0] : result.content;
      return text(`LLM response: ${content?.type === 'text' ? content.text : 'No response'}`);
    },
  );
  const elicit = async (message: string, requestedSchema: Record<string, unknown>, prefix: string) => {
    const result = await server.server.elicitInput({
      mode: 'form',
      message,
      requestedSchema: requestedSchema as never,
    });
    return text(`${prefix}: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
  };
  server.registerTool(
    'test_elicitation',
    { description: 'Asks the user for input', inputSchema: { message: z.string() } },
    async ({ message }) =>
      elicit(
        message,
        {
          type: 'object',
          properties: { response: { type: 'string', description: "User's response" } },
          required: ['response'],
        },
        'User response',
      ),
  );
  server.registerTool(
    'test_elicitation_sep1034_defaults',
    { description: 'Elicitation with defaults (SEP-1034)', inputSchema: {} },
    async () =>
      elicit(
        'Please review and update the form fields with defaults',
        {
          type: 'object',
          properties: {
            name: { type: 'string', description: 'User name', default: 'John Doe' },
            age: { type: 'integer', description: 'User age', default: 30 },
            score: { type: 'number', description: 'User score', default: 95.5 },
            status: {
              type: 'string',
              description: 'User status',
              enum: ['active', 'inactive', 'pending'],
              default: 'active',
            },
            verified: { type: 'boolean', description: 'Verification status', default: true },
          },
          required: [],
        },
        'Elicitation completed',
      ),
  );
  server.registerTool(
    'test_elicitation_sep1330_enums',
    { description: 'Elicitation with every enum form (SEP-1330)', inputSchema: {} },
    async () =>
      elicit(
        'Please select options from the enum fields',
        {
          type: 'object',
          properties: {
            untitledSingle: {
              type: 'string',
              description: 'Select one option',
              enum: ['option1', 'option2', 'option3'],
            },
            titledSingle: {
              type: 'string',
              description: 'Select one option with titles',
              oneOf: [
                { const: 'value1', title: 'First Option' },
                { const: 'value2', title: 'Second Option' },
                { const: 'value3', title: 'Third Option' },
              ],
            },
            legacyEnum: {
              type: 'string',
              description: 'Select one option (legacy)',
              enum: ['opt1', 'opt2', 'opt3'],
              enumNames: ['Option One', 'Option Two', 'Option Three'],
            },
            untitledMulti: {
              type: 'array',
              description: 'Select multiple options',
              minItems: 1,
              maxItems: 3,
              items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
            },
            titledMulti: {
              type: 'array',
              description: 'Select multiple options with titles',
              minItems: 1,
              maxItems: 3,
              items: {
                anyOf: [
                  { const: 'value1', title: 'First Choice' },
                  { const: 'value2', title: 'Second Choice' },
                  { const: 'value3', title: 'Third Choice' },
                ],
              },
            },
          },
          required: [],
        },
        'Elicitation completed',
      ),
  );
  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Tool with JSON Schema 2020-12 features (SEP-1613)',
      inputSchema: {
        name: z.string().optional(),
        address: z.object({ street: z.string().optional(), city: z.string().optional() }).optional(),
      },
    },
    async (args) => text(`JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`),
  );

  server.registerResource(
    'static-text',
    'test://static-text',
    { title: 'Static Text Resource', description: 'A static text resource', mimeType: 'text/plain' },
    async () => ({
      contents: [
        {
          uri: 'test://static-text',
          mimeType: 'text/plain',
          text: 'This is the content of the static text resource.',
        },
      ],
    }),
  );
  server.registerResource(
    'static-binary',
    'test://static-binary',
    { title: 'Static Binary Resource', description: 'A static binary resource', mimeType: 'image/png' },
    async () => ({ contents: [{ uri: 'test://static-binary', mimeType: 'image/png', blob: PNG }] }),
  );
  server.registerResource(
    'template',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    {
      title: 'Resource Template',
      description: 'A resource template with parameter substitution',
      mimeType: 'application/json',
    },
    async (uri, { id }) => ({
      contents: [
        {
          uri: uri.toString(),
          mimeType: 'application/json',
          text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }),
        },
      ],
    }),
  );
  server.registerResource(
    'watched-resource',
    'test://watched-resource',
    { title: 'Watched Resource', description: 'A resource clients may subscribe to', mimeType: 'text/plain' },
    async () => ({
      contents: [
        { uri: 'test://watched-resource', mimeType: 'text/plain', text: 'Watched resource content' },
      ],
    }),
  );
  const subscriptions = new Set<string>();
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscriptions.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });

  server.registerPrompt(
    'test_simple_prompt',
    { title: 'Simple Test Prompt', description: 'A prompt without arguments' },
    async () => ({
      messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
    }),
  );
  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      title: 'Prompt With Arguments',
      description: 'A prompt with required arguments',
      argsSchema: {
        arg1: completable(z.string().describe('First test argument'), (value) =>
          ['alpha', 'beta', 'gamma'].filter((v) => v.startsWith(value)),
        ),
        arg2: z.string().describe('Second test argument'),
      },
    },
    async ({ arg1, arg2 }) => ({
      messages: [
        {
          role: 'user',
          content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` },
        },
      ],
    }),
  );
  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      title: 'Prompt With Embedded Resource',
      description: 'A prompt that includes an embedded resource',
      argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') },
    },
    async ({ resourceUri }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: {
              uri: resourceUri,
              mimeType: 'text/plain',
              text: 'Embedded resource content for testing.',
            },
          },
        },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    }),
  );
  server.registerPrompt(
    'test_prompt_with_image',
    { title: 'Prompt With Image', description: 'A prompt with an image' },
    async () => ({
      messages: [
        { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
        { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
      ],
    }),
  );
  return hardened;
}

/** Starts the example on `port` (0: a free one) and prints its URL. */
export async function main(port: number) {
  const served = await serve({
    mode: 'stateful',
    createServer,
    host: '127.0.0.1',
    port,
    session: { eventStore: memoryEventStore(), retryIntervalMs: 500 },
    shutdown: { signals: ['SIGTERM', 'SIGINT'], deadlineMs: 5000 },
  });
  console.log(`MCP conformance server on ${served.url.href}`);
  return served;
}
