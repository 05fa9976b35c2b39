import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  insufficientScopeChallenge,
  protectedResourceMetadata,
  protectedResourceMetadataHandler,
  resourceMetadataUrl,
  unauthorizedChallenge,
} from '../src/index.js';

describe('RFC 9728 protected-resource metadata', () => {
  it('derives the path-suffixed metadata URL', () => {
    expect(resourceMetadataUrl('https://mcp.example.com/mcp').href).toBe(
      'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
    );
    expect(resourceMetadataUrl('https://mcp.example.com').href).toBe(
      'https://mcp.example.com/.well-known/oauth-protected-resource',
    );
    expect(resourceMetadataUrl('https://mcp.example.com/a/b/').href).toBe(
      'https://mcp.example.com/.well-known/oauth-protected-resource/a/b',
    );
    expect(() => resourceMetadataUrl('not a url')).toThrow(TypeError);
  });

  it('builds the document and refuses bad options with TypeError', () => {
    expect(
      protectedResourceMetadata({
        resource: 'https://mcp.example.com/mcp',
        authorizationServers: ['https://auth.example.com'],
        scopesSupported: ['notes:read'],
        resourceName: 'Notes',
      }),
    ).toEqual({
      resource: 'https://mcp.example.com/mcp',
      authorization_servers: ['https://auth.example.com'],
      bearer_methods_supported: ['header'],
      scopes_supported: ['notes:read'],
      resource_name: 'Notes',
    });
    expect(() => protectedResourceMetadata({ resource: 'https://x/mcp', authorizationServers: [] })).toThrow(
      TypeError,
    );
    expect(() =>
      protectedResourceMetadata({ resource: 'https://x/mcp#f', authorizationServers: ['https://a'] }),
    ).toThrow(TypeError);
    expect(() =>
      protectedResourceMetadata({
        resource: 'https://x/mcp',
        authorizationServers: ['https://a'],
        scopesSupported: ['a b'],
      }),
    ).toThrow(TypeError);
    // extensions cannot override the reserved members
    expect(
      protectedResourceMetadata({
        resource: 'https://x/mcp',
        authorizationServers: ['https://a'],
        extra: { resource: 'https://evil', tls_client_certificate_bound_access_tokens: false },
      }),
    ).toMatchObject({ resource: 'https://x/mcp', tls_client_certificate_bound_access_tokens: false });
  });

  describe('node:http route', () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const route = protectedResourceMetadataHandler({
        resource: `${base}/mcp`,
        authorizationServers: ['https://auth.example.com'],
      });
      server.on('request', (req, res) => {
        if (!route(req, res)) res.writeHead(404).end();
      });
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('serves the document at the path-suffixed and the root well-known paths', async () => {
      for (const path of [
        '/.well-known/oauth-protected-resource/mcp',
        '/.well-known/oauth-protected-resource',
      ]) {
        const res = await fetch(`${base}${path}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/json');
        expect(res.headers.get('access-control-allow-origin')).toBe('*');
        expect(await res.json()).toMatchObject({ resource: `${base}/mcp` });
      }
      const head = await fetch(`${base}/.well-known/oauth-protected-resource/mcp`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
    });

    it('leaves other paths to the caller and refuses other methods', async () => {
      expect((await fetch(`${base}/mcp`)).status).toBe(404);
      expect((await fetch(`${base}/.well-known/oauth-protected-resource/other`)).status).toBe(404);
      const post = await fetch(`${base}/.well-known/oauth-protected-resource`, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(
        (await fetch(`${base}/.well-known/oauth-protected-resource`, { method: 'OPTIONS' })).status,
      ).toBe(204);
    });
  });
});

describe('WWW-Authenticate challenges', () => {
  const metadata = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

  it('builds the 401 challenge, with error="invalid_token" only when a token was presented', () => {
    expect(unauthorizedChallenge({ resourceMetadataUrl: metadata, scopes: ['a', 'b'] })).toBe(
      `Bearer resource_metadata="${metadata}", scope="a b"`,
    );
    expect(unauthorizedChallenge({ resourceMetadataUrl: metadata, tokenPresented: true })).toBe(
      `Bearer error="invalid_token", resource_metadata="${metadata}"`,
    );
    expect(unauthorizedChallenge()).toBe('Bearer');
  });

  it('builds the 403 insufficient_scope challenge listing every needed scope', () => {
    expect(
      insufficientScopeChallenge({ scopes: ['notes:read', 'notes:write'], resourceMetadataUrl: metadata }),
    ).toBe(
      `Bearer error="insufficient_scope", scope="notes:read notes:write", resource_metadata="${metadata}"`,
    );
    expect(() => insufficientScopeChallenge({ scopes: [] })).toThrow(TypeError);
  });

  it('refuses values that would break the header (quotes, control characters, bad scope tokens)', () => {
    expect(() => unauthorizedChallenge({ realm: 'a"b' })).toThrow(TypeError);
    expect(() => unauthorizedChallenge({ realm: 'a\r\nSet-Cookie: x' })).toThrow(TypeError);
    expect(() => insufficientScopeChallenge({ scopes: ['a b'] })).toThrow(TypeError);
    expect(() => insufficientScopeChallenge({ scopes: ['a"'] })).toThrow(TypeError);
  });
});
