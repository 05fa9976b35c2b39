// Minimal typings for the parts of oidc-provider 9 these tests use (it ships no types).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'jwt' | 'opaque';
    jwt?: { sign?: { alg: string } };
  }

  export interface Configuration {
    clients?: Array<Record<string, unknown>>;
    scopes?: string[];
    jwks?: { keys: Array<Record<string, unknown>> };
    features?: {
      devInteractions?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      introspection?: { enabled: boolean };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: unknown, client: unknown, oneOf?: string[]) => string | Promise<string>;
        useGrantedResource?: (ctx: unknown, model: unknown) => boolean | Promise<boolean>;
        getResourceServerInfo?: (
          ctx: unknown,
          resourceIndicator: string,
          client: unknown,
        ) => ResourceServerInfo | Promise<ResourceServerInfo>;
      };
    };
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: never[]) => void): this;
  }

  export const errors: {
    InvalidTarget: new (description?: string) => Error;
  };
}
