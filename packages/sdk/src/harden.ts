import { closeAll, type HardenContext, type Middleware, type TargetPolicy } from '@mcp-harden/core';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type PolicyMap, PolicyRegistry } from './policies.js';
import { type HardenedTransport, hardenTransport } from './transport.js';

/** Options of {@link harden}. */
export interface HardenOptions {
  /** The middleware chain, outermost first (usually audit, auth, rbac, rate limit, sanitize, telemetry). */
  use: readonly Middleware[];
  /** Policies declared up front (for tools registered elsewhere, or read from a policy file). */
  policies?: PolicyMap;
  /** Called with unexpected errors from middleware; defaults to `console.error`. */
  onError?: (error: unknown, ctx: HardenContext | undefined) => void;
}

/** Registration functions of `McpServer` that also record a policy. */
export type PolicyRegistrar = Pick<McpServer, 'registerTool' | 'registerPrompt' | 'registerResource'>;

/** What {@link harden} returns. */
export interface HardenedServer<S extends McpServer | Server = McpServer | Server> {
  /** The wrapped server, unchanged. */
  readonly server: S;
  /** The middleware chain. */
  readonly middleware: readonly Middleware[];
  /** Declared policies. */
  readonly policies: PolicyRegistry;
  /** Connects the server to `transport` through the pipeline. */
  connect(transport: Transport, options?: { kind?: string }): Promise<void>;
  /**
   * Registration with a policy: `withPolicy(p).registerTool(...)` has exactly the SDK's
   * signature and records `p` for that tool. Only for `McpServer`.
   */
  withPolicy(policy: TargetPolicy): PolicyRegistrar;
  /** Requests inside the pipeline right now. */
  readonly activeRequests: number;
  /** Resolves when no request is inside the pipeline. */
  idle(): Promise<void>;
  /** Closes the server, then every middleware (flushing audit sinks, closing stores). */
  close(): Promise<void>;
}

function isMcpServer(server: McpServer | Server): server is McpServer {
  return typeof (server as McpServer).registerTool === 'function';
}

/**
 * Puts the mcp-harden pipeline in front of an `McpServer` or low-level `Server` of
 * `@modelcontextprotocol/sdk`. Only public SDK API is used: the server is connected to a
 * transport decorator that runs each request through the middleware before the server sees it.
 *
 * @example
 * ```ts
 * import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
 * import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
 * import { harden } from '@mcp-harden/sdk';
 *
 * const server = new McpServer({ name: 'notes', version: '1.0.0' });
 * const hardened = harden(server, { use: [logCalls] });
 * hardened.withPolicy({ tags: ['read-only'] }).registerTool('ping', {}, async () => ({
 *   content: [{ type: 'text', text: 'pong' }],
 * }));
 * await hardened.connect(new StdioServerTransport(), { kind: 'stdio' });
 * ```
 */
export function harden<S extends McpServer | Server>(server: S, options: HardenOptions): HardenedServer<S> {
  if (!server || typeof (server as { connect?: unknown }).connect !== 'function') {
    throw new TypeError('harden: expected an McpServer or Server of @modelcontextprotocol/sdk');
  }
  if (!options || !Array.isArray(options.use)) throw new TypeError('harden: options.use must be an array');
  const middleware = [...options.use];
  const policies = new PolicyRegistry(options.policies);
  const transports = new Set<HardenedTransport>();

  const registrar = (policy: TargetPolicy): PolicyRegistrar => {
    if (!isMcpServer(server)) throw new TypeError('withPolicy: registration helpers need an McpServer');
    const mcp = server;
    return {
      registerTool: ((name: string, ...rest: unknown[]) => {
        policies.set('tool', name, policy);
        return (mcp.registerTool as (...args: unknown[]) => unknown)(name, ...rest);
      }) as McpServer['registerTool'],
      registerPrompt: ((name: string, ...rest: unknown[]) => {
        policies.set('prompt', name, policy);
        return (mcp.registerPrompt as (...args: unknown[]) => unknown)(name, ...rest);
      }) as McpServer['registerPrompt'],
      registerResource: ((name: string, uriOrTemplate: string | ResourceTemplate, ...rest: unknown[]) => {
        const key = typeof uriOrTemplate === 'string' ? uriOrTemplate : uriOrTemplate.uriTemplate.toString();
        policies.set('resource', key, policy);
        return (mcp.registerResource as (...args: unknown[]) => unknown)(name, uriOrTemplate, ...rest);
      }) as McpServer['registerResource'],
    };
  };

  return {
    server,
    middleware,
    policies,
    async connect(transport, connectOptions = {}) {
      const wrapped = hardenTransport(transport, {
        use: middleware,
        lookupPolicy: policies.lookup,
        kind: connectOptions.kind,
        onError: options.onError,
      });
      transports.add(wrapped);
      await server.connect(wrapped);
      const serverOnClose = wrapped.onclose;
      wrapped.onclose = () => {
        transports.delete(wrapped);
        serverOnClose?.();
      };
    },
    withPolicy: registrar,
    get activeRequests() {
      let total = 0;
      for (const t of transports) total += t.activeRequests;
      return total;
    },
    async idle() {
      await Promise.all([...transports].map((t) => t.idle()));
    },
    async close() {
      await server.close();
      await closeAll(middleware);
    },
  };
}
