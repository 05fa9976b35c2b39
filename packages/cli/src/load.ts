import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PolicyLookup } from '@mcp-harden/core';
import { loadPolicy } from '@mcp-harden/policy';
import { listSurface, type SurfaceInput } from '@mcp-harden/versioning';
import { UsageError } from './command.js';

/** The part of an SDK server the CLI uses: connect it to a transport, then close it. */
interface ConnectableServer {
  connect(transport: unknown): Promise<void>;
  close(): Promise<void>;
}

/** The part of an `@mcp-harden/sdk` HardenedServer the CLI uses. */
interface HardenedLike {
  server: ConnectableServer;
  policies: { lookup: PolicyLookup };
}

/** A server module's surface, listed through the official SDK client. */
export interface LoadedSurface {
  surface: SurfaceInput;
  /** How the server was found (`createServer()`, `default`, ...). */
  source: string;
  /** Whether declared policies were available to tell which tools have a rule. */
  policiesKnown: boolean;
}

/** Options of {@link loadServerSurface}. */
export interface LoadServerOptions {
  /** Directory `modulePath` is resolved against. */
  cwd: string;
  /** Named export to use instead of `createServer` / `default`. */
  exportName?: string;
  /** Tools to treat as having an authorization rule, besides those with a declared `rule`. */
  authorizedTools?: readonly string[];
  /** Gives up after this many milliseconds (a server that never answers). */
  timeoutMs?: number;
  /**
   * A policy file (`@mcp-harden/policy`, YAML or JSON, resolved against `cwd`): every tool it gives a
   * `rule` counts as authorized, for servers whose rules come from the file through `fromPolicy`
   * (those rules go to rbac, not to the declared policies). Read with references unresolved, so no
   * secret is needed.
   */
  policyFile?: string;
  /** `environments.<name>` of {@link policyFile} to merge before reading its rules. */
  policyEnvironment?: string;
}

/**
 * Names of the tools that have an authorization `rule` in a policy file (the lock tracks
 * authorization for tools only).
 */
async function toolsWithRuleIn(file: string, shown: string, environment?: string): Promise<Set<string>> {
  if (!existsSync(file)) throw new UsageError(`policy file not found: ${shown}`);
  try {
    const policy = await loadPolicy(file, {
      resolveReferences: false,
      ...(environment !== undefined ? { environment } : {}),
    });
    const names = Object.entries(policy.effective.tools ?? {})
      .filter(([, target]) => target.rule !== undefined)
      .map(([name]) => name);
    return new Set(names);
  } catch (err) {
    throw new UsageError(`${shown}: ${(err as Error)?.message ?? String(err)}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isConnectable = (v: unknown): v is ConnectableServer =>
  isObject(v) && typeof v.connect === 'function' && typeof v.close === 'function';
const isHardened = (v: unknown): v is HardenedLike =>
  isObject(v) &&
  isConnectable(v.server) &&
  isObject(v.policies) &&
  typeof (v.policies as { lookup?: unknown }).lookup === 'function';

async function sdk() {
  try {
    const [{ Client }, { InMemoryTransport }] = await Promise.all([
      import('@modelcontextprotocol/sdk/client/index.js'),
      import('@modelcontextprotocol/sdk/inMemory.js'),
    ]);
    return { Client, InMemoryTransport };
  } catch {
    throw new UsageError('@modelcontextprotocol/sdk is not installed: install it next to @mcp-harden/cli');
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UsageError(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Loads a server module and lists its tools, prompts and resource templates through the
 * official SDK client over an in-memory transport. The module contract: a named export
 * `createServer` (or the default export, or `exportName`) that is an `McpServer`, a low-level
 * `Server`, or an `@mcp-harden/sdk` `HardenedServer` — or a function (sync or async) returning one.
 * The module must not connect a transport on import. A HardenedServer is listed without its
 * middleware (the registered surface, not one principal's view); its declared policies tell
 * which tools have an authorization `rule`.
 *
 * @example
 * ```ts
 * import { loadServerSurface } from '@mcp-harden/cli';
 * const { surface } = await loadServerSurface('./server.mjs', { cwd: process.cwd() });
 * ```
 */
export async function loadServerSurface(
  modulePath: string,
  options: LoadServerOptions,
): Promise<LoadedSurface> {
  const file = resolve(options.cwd, modulePath);
  if (!existsSync(file)) throw new UsageError(`server module not found: ${modulePath}`);
  if (options.policyEnvironment !== undefined && options.policyFile === undefined) {
    throw new UsageError('--policy-env needs --policy <file>');
  }
  const fromFile = options.policyFile
    ? await toolsWithRuleIn(
        resolve(options.cwd, options.policyFile),
        options.policyFile,
        options.policyEnvironment,
      )
    : new Set<string>();
  const { Client, InMemoryTransport } = await sdk();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`cannot load ${modulePath}: ${(err as Error)?.message ?? String(err)}`);
  }
  const candidates = options.exportName ? [options.exportName] : ['createServer', 'default'];
  const key = candidates.find((name) => mod[name] !== undefined);
  if (key === undefined) {
    throw new UsageError(
      `${modulePath} exports none of ${candidates.join(', ')}: export createServer() returning an McpServer, Server or HardenedServer`,
    );
  }
  let value = mod[key];
  let source = key;
  if (typeof value === 'function' && !isConnectable(value)) {
    try {
      value = await (value as () => unknown)();
    } catch (err) {
      throw new UsageError(`${key}() in ${modulePath} threw: ${(err as Error)?.message ?? String(err)}`);
    }
    source = `${key}()`;
  }
  const hardened = isHardened(value) ? value : undefined;
  const server = hardened ? hardened.server : value;
  if (!isConnectable(server)) {
    throw new UsageError(`${source} in ${modulePath} is not an McpServer, Server or HardenedServer`);
  }
  const extra = new Set([...(options.authorizedTools ?? []), ...fromFile]);
  const authorizedTools = hardened
    ? (name: string) =>
        extra.has(name) || (hardened.policies.lookup('tool', name) as { rule?: unknown })?.rule !== undefined
    : extra.size > 0
      ? (name: string) => extra.has(name)
      : undefined;

  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'mcp-harden-cli', version: '0.1.0' });
  const work = (async () => {
    await server.connect(serverSide);
    await client.connect(clientSide);
    return listSurface(client);
  })();
  try {
    const surface = await withTimeout(work, options.timeoutMs ?? 10_000, `listing ${modulePath}`);
    if (authorizedTools) surface.authorizedTools = authorizedTools;
    return { surface, source, policiesKnown: hardened !== undefined || options.policyFile !== undefined };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`listing ${modulePath} failed: ${(err as Error)?.message ?? String(err)}`);
  } finally {
    await client.close().catch(() => undefined);
    await server.close().catch(() => undefined);
  }
}
