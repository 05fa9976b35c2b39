import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isHardenError } from '@mcp-harden/core';
import { harden } from '@mcp-harden/sdk';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors as oidcErrors } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Authenticator,
  bearerAuth,
  protectedResourceMetadataHandler,
  resourceMetadataUrl,
  toAuthInfo,
} from '../src/index.js';

const CLIENT_ID = 'notes-agent';
const CLIENT_SECRET = `secret-${randomUUID()}`;
const SCOPES = ['notes:read', 'notes:write'];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** A hardened MCP server hosted with node:http + the SDK's StreamableHTTPServerTransport (stateless). */
function mcpHandler(auth: Authenticator, metadata: (req: IncomingMessage, res: ServerResponse) => boolean) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (metadata(req, res)) return;
      if (!req.url?.startsWith('/mcp')) {
        res.writeHead(404).end();
        return;
      }
      try {
        const principal = await auth.authenticateRequest(req);
        if (principal) (req as IncomingMessage & { auth?: unknown }).auth = toAuthInfo(principal);
      } catch (err) {
        if (!isHardenError(err)) throw err;
        res.writeHead(err.httpStatus, { 'content-type': 'application/json', ...err.httpHeaders }).end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: null,
            error: { code: err.jsonRpcCode, message: err.message },
          }),
        );
        return;
      }
      const server = new McpServer({ name: 'notes', version: '1.0.0' });
      const hardened = harden(server, { use: [auth] });
      server.registerTool('whoami', { description: 'Who is calling' }, async (extra) => {
        // the token never reaches tool code: the edge passes the principal, not the token
        const token = extra.authInfo?.token;
        return { content: [{ type: 'text', text: JSON.stringify({ tokenSeen: Boolean(token) }) }] };
      });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void hardened.server.close());
      await hardened.connect(transport);
      await transport.handleRequest(req, res, req.method === 'POST' ? await readBody(req) : undefined);
    } catch {
      if (!res.headersSent) res.writeHead(500).end();
    }
  };
}

describe('end to end with oidc-provider on loopback', () => {
  const authServer = createServer();
  const mcpServer = createServer();
  let issuer: string;
  let resource: string;
  const requestedResources: unknown[] = [];
  let seen: Array<{ subject: string; clientId?: string; scopes: readonly string[] }> = [];

  beforeAll(async () => {
    const mcpBase = await listen(mcpServer);
    resource = `${mcpBase}/mcp`;
    issuer = await listen(authServer);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const signingKey = { ...(await exportJWK(privateKey)), kid: 'as-1', alg: 'ES256', use: 'sig' };
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'ES256',
          scope: SCOPES.join(' '),
        },
      ],
      scopes: SCOPES,
      jwks: { keys: [signingKey] },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resource,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, indicator) => {
            if (indicator !== resource) throw new oidcErrors.InvalidTarget();
            return {
              scope: SCOPES.join(' '),
              audience: resource,
              accessTokenTTL: 300,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'ES256' } },
            };
          },
        },
      },
    });
    provider.on('grant.success', (ctx: { oidc: { params?: { resource?: unknown } } }) => {
      requestedResources.push(ctx.oidc.params?.resource);
    });
    authServer.on('request', provider.callback());

    const base = bearerAuth({
      jwksUri: `${issuer}/jwks`,
      issuer,
      audience: resource,
      algorithms: ['ES256'],
      typ: 'at+jwt',
      challenge: { resourceMetadataUrl: resourceMetadataUrl(resource), scopes: ['notes:read'] },
    });
    // record what the pipeline saw as the principal
    const recording = Object.assign(
      async (ctx: Parameters<Authenticator>[0], next: Parameters<Authenticator>[1]) =>
        base(ctx, async () => {
          if (ctx.principal) seen.push(ctx.principal);
          return next();
        }),
      base,
    ) as Authenticator;
    const metadata = protectedResourceMetadataHandler({
      resource,
      authorizationServers: [issuer],
      scopesSupported: ['notes:read'],
      resourceName: 'notes',
    });
    mcpServer.on('request', mcpHandler(recording, metadata));
  });

  afterAll(async () => {
    await stop(mcpServer);
    await stop(authServer);
  });

  async function clientCredentialsToken(resourceIndicator: string): Promise<Response> {
    return fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'notes:read',
        resource: resourceIndicator,
      }),
    });
  }

  it('accepts a client-credentials token issued for this resource, over Streamable HTTP', async () => {
    seen = [];
    const response = await clientCredentialsToken(resource);
    expect(response.status).toBe(200);
    const { access_token: token } = (await response.json()) as { access_token: string };
    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(resource), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: JSON.stringify({ tokenSeen: false }) }]);
    expect(seen.at(-1)).toMatchObject({ subject: CLIENT_ID, clientId: CLIENT_ID, scopes: ['notes:read'] });
    await client.close();
  });

  it('refuses a call without a token with a 401 challenge pointing at the metadata document', async () => {
    const response = await fetch(resource, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${resourceMetadataUrl(resource).href}", scope="notes:read"`,
    );
    const document = await (await fetch(resourceMetadataUrl(resource))).json();
    expect(document).toMatchObject({
      resource,
      authorization_servers: [issuer],
      bearer_methods_supported: ['header'],
    });
    const root = await fetch(new URL('/.well-known/oauth-protected-resource', resource));
    expect(root.status).toBe(200);
  });

  it('refuses a token issued for another resource (audience)', async () => {
    // the authorization server refuses to mint for an unknown resource, so take a valid token
    // and present it to a server with a different identifier
    const { access_token: token } = (await (await clientCredentialsToken(resource)).json()) as {
      access_token: string;
    };
    const other = bearerAuth({
      jwksUri: `${issuer}/jwks`,
      issuer,
      audience: 'https://other.example.com/mcp',
      algorithms: ['ES256'],
    });
    const err = await other.verify(token).catch((e: unknown) => e);
    expect(isHardenError(err, 'ERR_UNAUTHENTICATED')).toBe(true);
    expect((await clientCredentialsToken('https://other.example.com/mcp')).status).toBe(400);
  });

  it("lets the SDK client's OAuth support discover the authorization server from the 401 and metadata", async () => {
    seen = [];
    const provider = new ClientCredentialsProvider({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      expectedIssuer: issuer,
      // this SDK version sends the provider's own scope in the client-credentials request
      scope: 'notes:read',
    });
    const client = new Client({ name: 'e2e-oauth', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['whoami']);
    expect(provider.tokens()?.access_token).toBeTypeOf('string');
    // the SDK sent the resource indicator it read from our metadata document (RFC 8707)
    expect(requestedResources.at(-1)).toBe(resource);
    expect(seen.at(-1)).toMatchObject({ subject: CLIENT_ID, clientId: CLIENT_ID });
    expect(seen.at(-1)?.scopes).toContain('notes:read');
    await client.close();
  });
});
