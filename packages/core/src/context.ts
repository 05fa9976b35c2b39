import { HardenError } from './errors.js';
import type { JsonObject } from './protocol.js';

/** The MCP methods that pass through the pipeline. Every other message passes by untouched. */
export const HARDENED_METHODS = [
  'tools/call',
  'tools/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'prompts/list',
  'prompts/get',
  'completion/complete',
] as const;

/** One of {@link HARDENED_METHODS}. */
export type HardenedMethod = (typeof HARDENED_METHODS)[number];

/** True when `method` passes through the pipeline. */
export function isHardenedMethod(method: string): method is HardenedMethod {
  return (HARDENED_METHODS as readonly string[]).includes(method);
}

/** The list methods, whose results middleware may filter. */
export type ListMethod = 'tools/list' | 'resources/list' | 'resources/templates/list' | 'prompts/list';

/** What kind of thing a request targets. */
export type TargetKind = 'tool' | 'resource' | 'prompt';

/**
 * Who is calling: set by the `auth` package (or a custom authentication middleware) and read
 * by every later middleware.
 */
export interface Principal {
  /** Stable subject identifier (`sub`). */
  subject: string;
  /** OAuth client that obtained the credential (`client_id` / `azp`), when known. */
  clientId?: string;
  /** Granted scopes. */
  scopes: readonly string[];
  /** Granted roles. */
  roles: readonly string[];
  /** Tenant the principal belongs to, when the deployment is multi-tenant. */
  tenant?: string;
  /** How the principal was authenticated (`jwt`, `api-key`, `introspection`, `static`, ...). */
  authMethod?: string;
  /** Credential expiry as epoch seconds, when known. */
  expiresAt?: number;
  /** The verified raw claims. Never logged by mcp-harden. */
  claims: Readonly<JsonObject>;
}

/**
 * Policy declared for one tool, resource or prompt at registration. Packages add their keys
 * by declaration merging:
 *
 * @example
 * ```ts
 * declare module '@mcp-harden/core' {
 *   interface TargetPolicy { timeoutMs?: number }
 * }
 * ```
 */
export interface TargetPolicy {
  /** Free-form labels (`read-only`, `pii`, ...) that rules may match on. */
  tags?: readonly string[];
}

/**
 * Typed per-request state that middleware shares. Packages add their keys by declaration
 * merging; keep added keys optional, since a key is only present once its middleware ran.
 *
 * @example
 * ```ts
 * declare module '@mcp-harden/core' {
 *   interface HardenState { rbacDecision?: { allowed: boolean } }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: an interface, so packages can extend it by declaration merging
export interface HardenState {}

/** How the request reached the server. */
export interface RequestInfo {
  /** Transport kind: `stdio`, `http`, `memory`, or what the host said. */
  transport: string;
  /** HTTP request headers, when the transport is HTTP. */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** Peer address, when known. */
  remoteAddress?: string;
  /** Authentication info attached by the transport or HTTP framework (the SDK's `authInfo`). */
  authInfo?: unknown;
}

/**
 * The context every middleware receives. It is independent of the MCP SDK in use.
 */
export interface HardenContext {
  /** The MCP method. */
  readonly method: HardenedMethod;
  /** What is targeted: tool or prompt name, resource URI, or `undefined` for lists. */
  readonly target: string | undefined;
  /** Kind of `target`; `undefined` for lists. */
  readonly targetKind: TargetKind | undefined;
  /**
   * Arguments of `tools/call` and `prompts/get` (always an object), and `{ [name]: value }` for
   * `completion/complete`. Middleware may replace them; the rewritten value is what the
   * handler receives.
   */
  arguments: JsonObject | undefined;
  /** The request's params as received (read-only view; rewrite `arguments` instead). */
  readonly params: Readonly<JsonObject>;
  /** The authenticated caller; set by authentication middleware. */
  principal: Principal | undefined;
  /** Transport session id (Streamable HTTP stateful mode), when there is one. */
  readonly sessionId: string | undefined;
  /** JSON-RPC request id. */
  readonly requestId: string | number;
  /** Negotiated protocol version, when known. */
  readonly protocolVersion: string | undefined;
  /** `params._meta` of the request (progress token, W3C trace context, ...). */
  readonly meta: Readonly<JsonObject> | undefined;
  /** Aborted when the client cancels the request or the transport closes. */
  readonly signal: AbortSignal;
  /**
   * `signal.aborted`, answered without making the signal when the adapter supplies it on demand:
   * middleware that only asks "was this call cancelled?" reads this instead of `signal`.
   */
  readonly aborted: boolean;
  /** Policy declared for the target at registration, when any. */
  readonly policy: TargetPolicy | undefined;
  /** Looks up the declared policy of any tool, prompt or resource (used to filter lists). */
  readonly lookupPolicy: PolicyLookup;
  /** Per-request state bag, typed by declaration merging on {@link HardenState}. */
  readonly state: HardenState;
  /** How the request arrived. */
  readonly request: RequestInfo;
  /** `performance.now()` when the request entered the pipeline. */
  readonly startedAt: number;
}

/** Finds the declared policy of a tool or prompt (by name) or resource (by URI). */
export type PolicyLookup = (kind: TargetKind, target: string) => TargetPolicy | undefined;

/** Everything needed to build a {@link HardenContext}; see {@link createContext}. */
export interface ContextInit {
  method: HardenedMethod;
  params?: JsonObject;
  requestId?: string | number;
  principal?: Principal;
  sessionId?: string;
  protocolVersion?: string;
  /**
   * Cancellation of the request; defaults to one shared signal that never aborts. A function is
   * called once, on the first read of `ctx.signal`: adapters use it so that requests whose
   * middleware never looks at the signal do not pay for an `AbortSignal` (several µs each).
   */
  signal?: AbortSignal | (() => AbortSignal);
  /**
   * With a `signal` function: whether the request is already cancelled, without making the signal
   * (backs `ctx.aborted`). Without it, `ctx.aborted` makes the signal and reads `signal.aborted`.
   */
  aborted?: () => boolean;
  /** Policy of the target; defaults to `lookupPolicy(targetKind, target)`. */
  policy?: TargetPolicy;
  lookupPolicy?: PolicyLookup;
  request?: RequestInfo;
}

const noPolicy: PolicyLookup = () => undefined;

/**
 * The signal of a context built without one: never aborted (its controller is private to this
 * module), and shared, since an `AbortController` per context costs several microseconds.
 * Middleware that attaches a listener to `ctx.signal` removes it when the call settles, as with
 * any long-lived signal.
 */
const NEVER_ABORTED: AbortSignal = new AbortController().signal;

function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

function invalid(message: string): HardenError {
  return new HardenError('ERR_INVALID_PARAMS', message);
}

/** Checks the parts of params the pipeline relies on; the server validates the rest. */
function checkParams(method: HardenedMethod, params: JsonObject): void {
  const needs = (key: string) => {
    if (typeof params[key] !== 'string') throw invalid(`params.${key} must be a string`);
  };
  if (method === 'tools/call' || method === 'prompts/get') {
    needs('name');
    const args = params.arguments;
    if (args !== undefined && asObject(args) === undefined) {
      throw new HardenError('ERR_INVALID_ARGUMENTS', 'arguments must be an object', {
        data: { path: 'arguments' },
      });
    }
  } else if (method === 'resources/read') {
    needs('uri');
  } else if (method === 'completion/complete') {
    if (asObject(params.ref) === undefined) throw invalid('params.ref must be an object');
    if (asObject(params.argument) === undefined) throw invalid('params.argument must be an object');
  }
  if (params._meta !== undefined && asObject(params._meta) === undefined)
    throw invalid('params._meta must be an object');
}

function targetOf(method: HardenedMethod, params: JsonObject): [string | undefined, TargetKind | undefined] {
  switch (method) {
    case 'tools/call':
      return [typeof params.name === 'string' ? params.name : undefined, 'tool'];
    case 'prompts/get':
      return [typeof params.name === 'string' ? params.name : undefined, 'prompt'];
    case 'resources/read':
      return [typeof params.uri === 'string' ? params.uri : undefined, 'resource'];
    case 'completion/complete': {
      const ref = asObject(params.ref);
      if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') return [ref.name, 'prompt'];
      if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') return [ref.uri, 'resource'];
      return [undefined, undefined];
    }
    default:
      return [undefined, undefined];
  }
}

function argumentsOf(method: HardenedMethod, params: JsonObject): JsonObject | undefined {
  if (method === 'tools/call' || method === 'prompts/get') return asObject(params.arguments) ?? {};
  if (method === 'completion/complete') {
    const argument = asObject(params.argument);
    return argument && typeof argument.name === 'string' ? { [argument.name]: argument.value } : {};
  }
  return undefined;
}

/**
 * The context object: a class so that `signal` can be a prototype getter (made on first read when
 * the adapter passes a function) without costing every context an accessor of its own.
 */
class Context implements HardenContext {
  readonly method: HardenedMethod;
  readonly target: string | undefined;
  readonly targetKind: TargetKind | undefined;
  arguments: JsonObject | undefined;
  readonly params: Readonly<JsonObject>;
  principal: Principal | undefined;
  readonly sessionId: string | undefined;
  readonly requestId: string | number;
  readonly protocolVersion: string | undefined;
  readonly meta: Readonly<JsonObject> | undefined;
  readonly policy: TargetPolicy | undefined;
  readonly lookupPolicy: PolicyLookup;
  readonly state: HardenState = {};
  readonly request: RequestInfo;
  readonly startedAt: number;
  #signal: AbortSignal | (() => AbortSignal);
  readonly #aborted: (() => boolean) | undefined;

  constructor(
    init: ContextInit,
    params: JsonObject,
    target: string | undefined,
    targetKind: TargetKind | undefined,
    lookupPolicy: PolicyLookup,
  ) {
    this.method = init.method;
    this.target = target;
    this.targetKind = targetKind;
    this.arguments = argumentsOf(init.method, params);
    this.params = params;
    this.principal = init.principal;
    this.sessionId = init.sessionId;
    this.requestId = init.requestId ?? 0;
    this.protocolVersion = init.protocolVersion;
    this.meta = asObject(params._meta);
    this.policy =
      init.policy ?? (targetKind && target !== undefined ? lookupPolicy(targetKind, target) : undefined);
    this.lookupPolicy = lookupPolicy;
    this.request = init.request ?? { transport: 'unknown' };
    this.startedAt = performance.now();
    this.#signal = init.signal ?? NEVER_ABORTED;
    this.#aborted = init.aborted;
  }

  get signal(): AbortSignal {
    if (typeof this.#signal === 'function') this.#signal = this.#signal();
    return this.#signal;
  }

  get aborted(): boolean {
    if (typeof this.#signal !== 'function' || this.#aborted === undefined) return this.signal.aborted;
    return this.#aborted();
  }
}

/**
 * Builds a context. Adapters call it for every request; tests use it to drive a middleware
 * without any SDK. Params whose shape the pipeline cannot read (a non-object `arguments`, a
 * missing tool name) throw `ERR_INVALID_ARGUMENTS` / `ERR_INVALID_PARAMS`.
 *
 * @example
 * ```ts
 * import { createContext } from '@mcp-harden/core';
 * const ctx = createContext({ method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } });
 * ctx.target; // 'echo'
 * ```
 */
export function createContext(init: ContextInit): HardenContext {
  const params = init.params ?? {};
  checkParams(init.method, params);
  const [target, targetKind] = targetOf(init.method, params);
  const lookupPolicy = init.lookupPolicy ?? noPolicy;
  return new Context(init, params, target, targetKind, lookupPolicy);
}
