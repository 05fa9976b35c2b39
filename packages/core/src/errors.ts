/**
 * Every refusal or failure the pipeline reports has a stable string code. One table maps each
 * code to the JSON-RPC error code sent to MCP clients and to the HTTP status used when a whole
 * HTTP request is refused. `docs/errors.md` documents the same table; a test keeps them equal.
 */
export const ERROR_CODES = {
  ERR_UNAUTHENTICATED: { jsonRpc: -32010, http: 401, message: 'Authentication required' },
  ERR_FORBIDDEN: { jsonRpc: -32011, http: 403, message: 'Forbidden' },
  ERR_INSUFFICIENT_SCOPE: { jsonRpc: -32012, http: 403, message: 'Insufficient scope' },
  ERR_RATE_LIMITED: { jsonRpc: -32013, http: 429, message: 'Rate limit exceeded' },
  ERR_TOOL_SUNSET: { jsonRpc: -32014, http: 410, message: 'Tool version is past its sunset date' },
  ERR_TIMEOUT: { jsonRpc: -32015, http: 504, message: 'Request timed out' },
  ERR_UNAVAILABLE: { jsonRpc: -32016, http: 503, message: 'Service unavailable' },
  ERR_CANCELLED: { jsonRpc: -32017, http: 499, message: 'Request cancelled' },
  ERR_OUTPUT_REJECTED: { jsonRpc: -32018, http: 502, message: 'Tool output was rejected' },
  ERR_CIRCUIT_OPEN: { jsonRpc: -32019, http: 503, message: 'Downstream circuit is open' },
  ERR_NOT_FOUND: { jsonRpc: -32602, http: 404, message: 'Not found' },
  ERR_RESOURCE_NOT_FOUND: { jsonRpc: -32002, http: 404, message: 'Resource not found' },
  ERR_INVALID_ARGUMENTS: { jsonRpc: -32602, http: 400, message: 'Invalid arguments' },
  ERR_INVALID_PARAMS: { jsonRpc: -32602, http: 400, message: 'Invalid params' },
  ERR_INVALID_REQUEST: { jsonRpc: -32600, http: 400, message: 'Invalid request' },
  ERR_METHOD_NOT_FOUND: { jsonRpc: -32601, http: 404, message: 'Method not found' },
  ERR_PAYLOAD_TOO_LARGE: { jsonRpc: -32600, http: 413, message: 'Payload too large' },
  ERR_MIDDLEWARE: { jsonRpc: -32603, http: 500, message: 'Internal error' },
  ERR_INTERNAL: { jsonRpc: -32603, http: 500, message: 'Internal error' },
} as const satisfies Record<string, { jsonRpc: number; http: number; message: string }>;

/** The union of every stable error code. */
export type HardenErrorCode = keyof typeof ERROR_CODES;

/** Options of a {@link HardenError}. */
export interface HardenErrorOptions {
  /** Extra details sent to the client in `error.data` next to `code`. Never put secrets here. */
  data?: Record<string, unknown>;
  /** Headers a transport adds when it refuses the whole HTTP request (`WWW-Authenticate`, `Retry-After`). */
  httpHeaders?: Record<string, string>;
  /** The underlying error; kept for logs, never sent to the client. */
  cause?: unknown;
}

/**
 * The one error class of mcp-harden. Middleware refuses a request by throwing it; the adapter
 * turns it into a JSON-RPC error whose `data.code` is the stable string code.
 *
 * @example
 * ```ts
 * import { HardenError } from '@mcp-harden/core';
 * throw new HardenError('ERR_RATE_LIMITED', 'Too many calls', { data: { retryAfterMs: 1200 } });
 * ```
 */
export class HardenError extends Error {
  override readonly name = 'HardenError';
  readonly code: HardenErrorCode;
  readonly data: Readonly<Record<string, unknown>> | undefined;
  readonly httpHeaders: Readonly<Record<string, string>> | undefined;
  /** Name of the middleware that threw it; set by `compose` on the way out. */
  source: string | undefined;

  constructor(code: HardenErrorCode, message?: string, options: HardenErrorOptions = {}) {
    super(
      message ?? ERROR_CODES[code].message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.data = options.data;
    this.httpHeaders = options.httpHeaders;
    this.source = undefined;
  }

  /** JSON-RPC error code from the table. */
  get jsonRpcCode(): number {
    return ERROR_CODES[this.code].jsonRpc;
  }

  /** HTTP status from the table. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }
}

/**
 * A JSON-RPC error returned by the wrapped server itself (for example the SDK's own
 * `-32602` for arguments that fail the tool's schema). It is passed to the client unchanged.
 *
 * @example
 * ```ts
 * import { JsonRpcError } from '@mcp-harden/core';
 * throw new JsonRpcError(-32602, 'Invalid params');
 * ```
 */
export class JsonRpcError extends Error {
  override readonly name = 'JsonRpcError';
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** The `error` member of a JSON-RPC error response. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/**
 * True when `err` is a {@link HardenError}, optionally with the given code. Works across
 * duplicated copies of the package, where `instanceof` would not.
 *
 * @example
 * ```ts
 * if (isHardenError(err, 'ERR_RATE_LIMITED')) console.log(err.data?.retryAfterMs);
 * ```
 */
export function isHardenError(err: unknown, code?: HardenErrorCode): err is HardenError {
  if (err instanceof HardenError) return code === undefined || err.code === code;
  const candidate = err as { name?: unknown; code?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.name === 'HardenError' &&
    typeof candidate.code === 'string' &&
    candidate.code in ERROR_CODES &&
    (code === undefined || candidate.code === code)
  );
}

/**
 * Turns anything thrown in the pipeline into the JSON-RPC error sent to the client. Unknown
 * errors become a bare internal error: their message and stack never leave the process.
 *
 * @example
 * ```ts
 * toJsonRpcError(new HardenError('ERR_FORBIDDEN'));
 * // { code: -32011, message: 'Forbidden', data: { code: 'ERR_FORBIDDEN' } }
 * ```
 */
export function toJsonRpcError(err: unknown): JsonRpcErrorObject {
  if (isHardenError(err)) {
    return { code: err.jsonRpcCode, message: err.message, data: { ...err.data, code: err.code } };
  }
  if (err instanceof JsonRpcError) {
    return err.data === undefined
      ? { code: err.rpcCode, message: err.message }
      : { code: err.rpcCode, message: err.message, data: err.data };
  }
  return {
    code: ERROR_CODES.ERR_INTERNAL.jsonRpc,
    message: 'Internal error',
    data: { code: 'ERR_INTERNAL' },
  };
}

/**
 * A short, stable label for an error, for audit records and metrics: the HardenError code,
 * `JSONRPC_<code>` for a downstream JSON-RPC error, otherwise `ERR_INTERNAL`.
 *
 * @example
 * ```ts
 * errorCodeOf(new JsonRpcError(-32602, 'bad')); // 'JSONRPC_-32602'
 * ```
 */
export function errorCodeOf(err: unknown): string {
  if (isHardenError(err)) return err.code;
  if (err instanceof JsonRpcError) return `JSONRPC_${err.rpcCode}`;
  return 'ERR_INTERNAL';
}

/**
 * The HTTP status for an error that refuses a whole HTTP request.
 *
 * @example
 * ```ts
 * httpStatusOf(new HardenError('ERR_RATE_LIMITED')); // 429
 * ```
 */
export function httpStatusOf(err: unknown): number {
  if (isHardenError(err)) return err.httpStatus;
  if (err instanceof JsonRpcError) return err.rpcCode === -32601 ? 404 : 400;
  return 500;
}
