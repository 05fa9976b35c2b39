import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  errorCodeOf,
  HardenError,
  httpStatusOf,
  isHardenError,
  JsonRpcError,
  toJsonRpcError,
} from '../src/index.js';

/** Rows of the table in docs/errors.md: | `CODE` | jsonrpc | http | meaning | */
function documentedCodes(): Map<string, { jsonRpc: number; http: number }> {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, { jsonRpc: number; http: number }>();
  for (const line of doc.split('\n')) {
    const match = /^\|\s*`(ERR_[A-Z_]+)`\s*\|\s*(-?\d+)\s*\|\s*(\d+)\s*\|/.exec(line);
    if (match) rows.set(match[1]!, { jsonRpc: Number(match[2]), http: Number(match[3]) });
  }
  return rows;
}

describe('error table', () => {
  it('matches docs/errors.md row for row', () => {
    const documented = documentedCodes();
    const table = new Map(
      Object.entries(ERROR_CODES).map(([code, v]) => [code, { jsonRpc: v.jsonRpc, http: v.http }]),
    );
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(table));
  });

  it('uses JSON-RPC codes outside the reserved pre-defined range except the standard ones', () => {
    const standard = new Set([-32600, -32601, -32602, -32603, -32002]);
    for (const { jsonRpc } of Object.values(ERROR_CODES)) {
      expect(standard.has(jsonRpc) || (jsonRpc <= -32000 && jsonRpc >= -32099)).toBe(true);
    }
  });
});

describe('HardenError', () => {
  it('carries code, data, headers and cause, and maps through the table', () => {
    const cause = new Error('redis down');
    const err = new HardenError('ERR_RATE_LIMITED', 'Slow down', {
      data: { retryAfterMs: 1500 },
      httpHeaders: { 'Retry-After': '2' },
      cause,
    });
    expect(err.code).toBe('ERR_RATE_LIMITED');
    expect(err.jsonRpcCode).toBe(-32013);
    expect(err.httpStatus).toBe(429);
    expect(err.cause).toBe(cause);
    expect(toJsonRpcError(err)).toEqual({
      code: -32013,
      message: 'Slow down',
      data: { retryAfterMs: 1500, code: 'ERR_RATE_LIMITED' },
    });
    expect(httpStatusOf(err)).toBe(429);
  });

  it('keeps the stable code even when data tries to override it', () => {
    const err = new HardenError('ERR_FORBIDDEN', undefined, { data: { code: 'ERR_NOTHING' } });
    expect(toJsonRpcError(err).data).toEqual({ code: 'ERR_FORBIDDEN' });
    expect(err.message).toBe('Forbidden');
  });

  it('is recognised across copies of the package by shape', () => {
    const foreign = Object.assign(new Error('x'), { name: 'HardenError', code: 'ERR_TIMEOUT' });
    expect(isHardenError(foreign)).toBe(true);
    expect(isHardenError(foreign, 'ERR_FORBIDDEN')).toBe(false);
    expect(isHardenError(Object.assign(new Error('x'), { name: 'HardenError', code: 'ERR_BOGUS' }))).toBe(
      false,
    );
  });
});

describe('unknown errors', () => {
  it('become a bare internal error with nothing leaked', () => {
    const secret = new Error('connect to postgres://admin:hunter2@db failed');
    const rpc = toJsonRpcError(secret);
    expect(rpc).toEqual({ code: -32603, message: 'Internal error', data: { code: 'ERR_INTERNAL' } });
    expect(JSON.stringify(rpc)).not.toContain('hunter2');
    expect(errorCodeOf(secret)).toBe('ERR_INTERNAL');
    expect(httpStatusOf('a string')).toBe(500);
  });

  it('pass a downstream JSON-RPC error through unchanged', () => {
    const err = new JsonRpcError(-32602, 'Invalid params', { field: 'x' });
    expect(toJsonRpcError(err)).toEqual({ code: -32602, message: 'Invalid params', data: { field: 'x' } });
    expect(errorCodeOf(err)).toBe('JSONRPC_-32602');
  });
});
