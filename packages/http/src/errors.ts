import type { ServerResponse } from 'node:http';
import { HardenError, type HardenErrorCode, toJsonRpcError } from '@mcp-harden/core';

/** Writes a refusal of a whole HTTP request: the table's status, its headers and a JSON-RPC error body (`id: null`). */
export function writeRefusal(
  res: ServerResponse,
  error: HardenError,
  extraHeaders: Record<string, string> = {},
  status: number = error.httpStatus,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: toJsonRpcError(error) });
  res.writeHead(status, {
    ...extraHeaders,
    ...error.httpHeaders,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Shorthand for a refusal with a code and message. */
export function refuse(
  res: ServerResponse,
  code: HardenErrorCode,
  message: string,
  headers: Record<string, string> = {},
  status?: number,
): void {
  writeRefusal(res, new HardenError(code, message), headers, status);
}

/** Writes a JSON-RPC error that is not a HardenError (protocol-level: parse errors, 406, 415). */
export function writeProtocolError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } });
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
