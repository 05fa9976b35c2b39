import {
  compose,
  createContext,
  type HardenContext,
  HardenError,
  isHardenError,
  isHardenedMethod,
  type JsonObject,
  JsonRpcError,
  type McpResult,
  type Middleware,
  type PolicyLookup,
  reportEarlyRefusal,
  toJsonRpcError,
} from '@mcp-harden/core';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type {
  JSONRPCMessage,
  JSONRPCRequest,
  MessageExtraInfo,
  RequestId,
} from '@modelcontextprotocol/sdk/types.js';

/** Options of {@link hardenTransport}. */
export interface HardenTransportOptions {
  /** The middleware chain, outermost first. */
  use: readonly Middleware[];
  /** Declared policies of tools, prompts and resources. */
  lookupPolicy?: PolicyLookup;
  /** Transport kind put on `ctx.request.transport` (`stdio`, `memory`, ...); `http` is detected. */
  kind?: string;
  /** Called with errors that are not refusals (a middleware bug); they reach the client as a bare internal error. */
  onError?: (error: unknown, ctx: HardenContext | undefined) => void;
}

/**
 * Send options the decorator passes with a refusal. SDK transports ignore the extra field; an
 * HTTP host that writes responses itself (`@mcp-harden/http`) uses it to answer with the
 * refusal's HTTP status and headers (401 + `WWW-Authenticate`, 429 + `Retry-After`).
 */
export interface HardenedSendOptions extends TransportSendOptions {
  refusal?: { status: number; headers?: Readonly<Record<string, string>>; error: HardenError };
}

interface Pending {
  /** Created on the first read of `ctx.signal` only: an `AbortSignal` costs several µs. */
  controller?: AbortController;
  /** Settles the terminal `next()` once the wrapped server answered. */
  settle?: (response: JSONRPCMessage | Error) => void;
  /** Why the request was cancelled (client, transport close); set once. */
  cancelled?: HardenError;
}

/** The request's signal, made on demand and already aborted when the request was cancelled before. */
function signalOf(pending: Pending): AbortSignal {
  if (!pending.controller) {
    pending.controller = new AbortController();
    if (pending.cancelled) pending.controller.abort(pending.cancelled);
  }
  return pending.controller.signal;
}

const isRequest = (m: JSONRPCMessage): m is JSONRPCRequest => 'method' in m && 'id' in m;
const isResponse = (m: JSONRPCMessage): m is JSONRPCMessage & { id: RequestId } =>
  'id' in m && !('method' in m) && ('result' in m || 'error' in m);

function headerValue(headers: Record<string, string | string[] | undefined> | undefined, name: string) {
  const value = headers?.[name];
  return Array.isArray(value) ? value[0] : value;
}

const defaultOnError = (error: unknown) => {
  console.error('[mcp-harden] unexpected error in the pipeline:', error);
};

/**
 * A transport decorator: it sits between an MCP server and the transport it is connected to,
 * runs every hardened request through the middleware chain before the server sees it, and
 * sends the chain's result (or refusal) back to the client. Everything else passes through.
 */
export class HardenedTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;

  readonly #inner: Transport;
  readonly #chain: ReturnType<typeof compose>;
  readonly #options: HardenTransportOptions;
  readonly #pending = new Map<RequestId, Pending>();
  #initializeId: RequestId | undefined;
  #protocolVersion: string | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(inner: Transport, options: HardenTransportOptions) {
    this.#inner = inner;
    this.#options = options;
    this.#chain = compose(options.use);
  }

  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  /** Requests currently inside the pipeline. */
  get activeRequests(): number {
    return this.#pending.size;
  }

  /** Resolves once no request is inside the pipeline. */
  idle(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
    this.#inner.setProtocolVersion?.(version);
  }

  async start(): Promise<void> {
    this.#inner.onmessage = (message, extra) => this.#receive(message, extra);
    this.#inner.onerror = (error) => this.onerror?.(error);
    this.#inner.onclose = () => {
      this.#releaseAll();
      this.onclose?.();
    };
    await this.#inner.start();
  }

  async close(): Promise<void> {
    this.#releaseAll();
    await this.#inner.close();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isResponse(message)) {
      const pending = this.#pending.get(message.id);
      if (pending?.settle) {
        pending.settle(message);
        return;
      }
      if (message.id === this.#initializeId && 'result' in message) {
        const version = (message.result as JsonObject).protocolVersion;
        if (typeof version === 'string') this.#protocolVersion = version;
      }
    }
    return this.#inner.send(message, options);
  }

  #receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (isRequest(message)) {
      if (isHardenedMethod(message.method)) {
        void this.#handle(message, extra);
        return;
      }
      if (message.method === 'initialize') this.#initializeId = message.id;
    } else if ('method' in message && message.method === 'notifications/cancelled') {
      const requestId = (message.params as JsonObject | undefined)?.requestId as RequestId | undefined;
      const pending = requestId === undefined ? undefined : this.#pending.get(requestId);
      if (pending) this.#cancel(pending, 'cancelled by the client');
    }
    this.onmessage?.(message, extra);
  }

  async #handle(request: JSONRPCRequest, extra: MessageExtraInfo | undefined): Promise<void> {
    const id = request.id;
    if (this.#pending.has(id)) {
      await this.#reply(id, new HardenError('ERR_INVALID_REQUEST', 'Request id is already in use'));
      return;
    }
    const pending: Pending = {};
    this.#pending.set(id, pending);
    let ctx: HardenContext | undefined;
    let outcome: McpResult | unknown;
    let failed = false;
    const headers = extra?.requestInfo?.headers as Record<string, string | string[] | undefined> | undefined;
    // Not part of the SDK's RequestInfo: HTTP hosts that know the peer add it (`@mcp-harden/http` does).
    const peer = (extra?.requestInfo as { remoteAddress?: unknown } | undefined)?.remoteAddress;
    const requestInfo = {
      transport: headers ? 'http' : (this.#options.kind ?? 'unknown'),
      headers,
      remoteAddress: typeof peer === 'string' ? peer : undefined,
      authInfo: extra?.authInfo,
    };
    try {
      const params = request.params;
      if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
        throw new HardenError('ERR_INVALID_PARAMS', 'params must be an object');
      }
      ctx = createContext({
        method: request.method as HardenContext['method'],
        params: (params ?? {}) as JsonObject,
        requestId: id,
        sessionId: this.#inner.sessionId,
        protocolVersion: headerValue(headers, 'mcp-protocol-version') ?? this.#protocolVersion,
        signal: () => signalOf(pending),
        aborted: () => pending.cancelled !== undefined,
        lookupPolicy: this.#options.lookupPolicy,
        request: requestInfo,
      });
      const current = ctx;
      outcome = await this.#chain(current, () => this.#forward(request, current, pending, extra));
      if (typeof outcome !== 'object' || outcome === null) {
        throw new TypeError('the pipeline resolved with a non-object result');
      }
    } catch (err) {
      failed = true;
      outcome = err;
      if (ctx === undefined && isHardenError(err)) {
        // Refused by the params check before the chain ran: audit and telemetry still hear of it.
        reportEarlyRefusal(this.#options.use, {
          error: err,
          source: 'sdk',
          method: request.method,
          requestId: id,
          sessionId: this.#inner.sessionId,
          request: requestInfo,
        });
      } else if (!(err instanceof HardenError || err instanceof JsonRpcError) && !pending.cancelled) {
        (this.#options.onError ?? defaultOnError)(err, ctx);
      }
    } finally {
      this.#pending.delete(id);
      if (this.#pending.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    }
    // A cancelled request gets no response (MCP cancellation semantics).
    if (pending.cancelled) return;
    await this.#reply(id, failed ? outcome : undefined, failed ? undefined : (outcome as McpResult));
  }

  /** The innermost `next()`: hands the (possibly rewritten) request to the server and awaits its answer. */
  #forward(
    request: JSONRPCRequest,
    ctx: HardenContext,
    pending: Pending,
    extra: MessageExtraInfo | undefined,
  ): Promise<McpResult> {
    if (pending.cancelled) {
      return Promise.reject(new HardenError('ERR_CANCELLED'));
    }
    const original = (request.params ?? {}) as JsonObject;
    const rewritten =
      (ctx.method === 'tools/call' || ctx.method === 'prompts/get') && ctx.arguments !== original.arguments
        ? { ...request, params: { ...original, arguments: ctx.arguments } }
        : request;
    return new Promise<McpResult>((resolve, reject) => {
      pending.settle = (answer) => {
        pending.settle = undefined;
        if (answer instanceof Error) return reject(answer);
        if ('error' in answer) {
          const { code, message, data } = answer.error;
          return reject(new JsonRpcError(code, message, data));
        }
        resolve((answer as { result: McpResult }).result);
      };
      this.onmessage?.(rewritten, extra);
    });
  }

  #cancel(pending: Pending, reason: string): void {
    if (pending.cancelled) return;
    pending.cancelled = new HardenError('ERR_CANCELLED', reason);
    pending.controller?.abort(pending.cancelled);
    pending.settle?.(pending.cancelled);
  }

  #releaseAll(): void {
    for (const pending of this.#pending.values()) this.#cancel(pending, 'transport closed');
  }

  async #reply(id: RequestId, error: unknown, result?: McpResult): Promise<void> {
    const message: JSONRPCMessage =
      result !== undefined
        ? { jsonrpc: '2.0', id, result: result as JSONRPCMessage & Record<string, unknown> }
        : ({ jsonrpc: '2.0', id, error: toJsonRpcError(error) } as JSONRPCMessage);
    const options: HardenedSendOptions = { relatedRequestId: id };
    if (result === undefined && isHardenError(error)) {
      options.refusal = { status: error.httpStatus, headers: error.httpHeaders, error };
    }
    try {
      await this.#inner.send(message, options);
    } catch (err) {
      this.onerror?.(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/**
 * Wraps a transport so that every hardened request passes the middleware chain. Use it when
 * you connect the server yourself; {@link harden} does this for you.
 *
 * @example
 * ```ts
 * import { hardenTransport } from '@mcp-harden/sdk';
 * await server.connect(hardenTransport(new StdioServerTransport(), { use: [logCalls], kind: 'stdio' }));
 * ```
 */
export function hardenTransport(transport: Transport, options: HardenTransportOptions): HardenedTransport {
  return new HardenedTransport(transport, options);
}
