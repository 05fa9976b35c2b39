import type { Principal } from '@mcp-harden/core';
import {
  type Authenticator,
  type AuthenticatorOptions,
  buildAuthenticator,
  type HeadersLike,
} from './authenticator.js';
import { unauthenticated } from './challenge.js';

/** Options of {@link anyOf} (the members' own `allowAnonymous` is ignored; set it here). */
export type AnyOfOptions = Pick<AuthenticatorOptions, 'allowAnonymous' | 'name'>;

/**
 * Several authentication methods on one server: the first method that recognises the
 * request's credential (by header and shape) verifies it, and its verdict is final. A
 * credential that is presented but invalid is refused, never downgraded to anonymous or handed
 * to a weaker method.
 *
 * @example
 * ```ts
 * import { anyOf, apiKeys, bearerAuth } from '@mcp-harden/auth';
 * const auth = anyOf([bearerAuth({ ... }), apiKeys({ keys })]);
 * const hardened = harden(server, { use: [auth] });
 * ```
 */
export function anyOf(methods: readonly Authenticator[], options: AnyOfOptions = {}): Authenticator {
  if (!Array.isArray(methods) || methods.length === 0)
    throw new TypeError('anyOf: give at least one authenticator');
  methods.forEach((m, i) => {
    if (typeof m !== 'function' || typeof m.verify !== 'function' || typeof m.find !== 'function') {
      throw new TypeError(`anyOf: methods[${i}] is not an authenticator from @mcp-harden/auth`);
    }
  });
  if (options.allowAnonymous !== undefined && typeof options.allowAnonymous !== 'boolean') {
    throw new TypeError('anyOf: allowAnonymous must be a boolean');
  }
  const challenge = (tokenPresented: boolean) => methods.map((m) => m.challenge(tokenPresented)).join(', ');

  function find(headers: HeadersLike) {
    let presented: string | undefined;
    for (const method of methods) {
      const found = method.find(headers);
      if (found === undefined) continue;
      if (method.accepts(found.credential)) {
        return { credential: found.credential, verify: method.verify };
      }
      presented ??= found.credential;
    }
    // a credential no method accepts is still a credential: refuse it rather than go anonymous
    if (presented !== undefined) throw unauthenticated('malformed_credential', challenge(true));
    return undefined;
  }

  async function verify(credential: string): Promise<Principal> {
    for (const method of methods) {
      if (method.accepts(credential)) return method.verify(credential);
    }
    throw unauthenticated('malformed_credential', challenge(true));
  }

  return buildAuthenticator(
    {
      authMethod: 'any-of',
      verify,
      find,
      accepts: (credential) => methods.some((m) => m.accepts(credential)),
      challenge,
      now: Date.now,
      close: async () => {
        await Promise.all(methods.map((m) => m.close?.()));
      },
      healthChecks: methods.flatMap((m) => m.healthChecks ?? []),
    },
    { ...options },
  );
}
