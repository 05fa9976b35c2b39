import { HardenError, isHardenError } from '@mcp-harden/core';
import { expect } from 'vitest';

/** Awaits a refusal and checks it is a clean 401 `ERR_UNAUTHENTICATED` that does not echo the credential. */
export async function expectUnauthenticated(
  promise: Promise<unknown>,
  options: { reason?: string; credential?: string } = {},
): Promise<HardenError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error('expected a refusal, but the credential was accepted');
  const err = outcome.error;
  expect(err).toBeInstanceOf(HardenError);
  if (!isHardenError(err)) throw err;
  expect(err.code).toBe('ERR_UNAUTHENTICATED');
  expect(err.httpStatus).toBe(401);
  expect(err.httpHeaders?.['WWW-Authenticate']).toBeTypeOf('string');
  if (options.reason !== undefined) expect(err.data?.reason).toBe(options.reason);
  if (options.credential !== undefined) {
    const visible = JSON.stringify({ message: err.message, data: err.data, headers: err.httpHeaders });
    // no recognisable piece of the credential leaks (its signature part is the last segment)
    expect(visible).not.toContain(options.credential.slice(-16));
    expect(visible).not.toContain(options.credential.slice(0, 24));
  }
  return err;
}

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}
