/**
 * Starts throw-away Redis and PostgreSQL servers on 127.0.0.1 for tests. The binaries come
 * from Debian's `redis-server` and `postgresql` packages (`.ci/run` installs them). Every
 * server gets a free port and a temporary directory, and `stop()` removes both.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
  failed: () => Error | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const error = failed();
    if (error) throw new Error(`${what} could not be started: ${error.message}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

async function canConnect(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A running Redis server. */
export interface RedisService {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGKILL-free: waits for exit). Data is lost. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after `stop()`), for outage tests. */
  restart(): Promise<void>;
}

/**
 * Starts `redis-server` on a free loopback port with persistence off.
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * const client = new Redis(redis.url);
 * await redis.stop();
 * ```
 */
export async function startRedis(): Promise<RedisService> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-harden-redis-'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    let spawnError: Error | undefined;
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    // A missing binary is an 'error' event (ENOENT): reject with it instead of crashing the process.
    child.once('error', (err) => {
      spawnError = err;
    });
    await waitFor(
      () => canConnect(port),
      `redis-server on port ${port}`,
      20_000,
      () => spawnError,
    );
  };
  const halt = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  };
  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await halt();
    },
    async restart() {
      await halt();
      await launch();
    },
  };
}

/** A running PostgreSQL cluster. */
export interface PostgresService {
  readonly port: number;
  /** Connection string for the superuser `postgres` on database `postgres` (trust auth, loopback only). */
  readonly url: string;
  /** Stops the server, keeping the data directory (for outage tests). */
  pause(): Promise<void>;
  /** Starts it again after `pause()`. */
  resume(): Promise<void>;
  /** Stops the server and removes the cluster. */
  stop(): Promise<void>;
}

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const candidate = join(root, version, 'bin', name);
      if (existsSync(candidate)) return candidate;
    }
  }
  return name;
}

function asPostgres(args: string[]): void {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // initdb and postgres refuse to run as root: run them as the `postgres` user.
  if (isRoot) execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'ignore' });
  else execFileSync(args[0]!, args.slice(1), { stdio: 'ignore' });
}

/**
 * Creates a throw-away PostgreSQL cluster (`initdb`) and starts it on a free loopback port.
 *
 * @example
 * ```ts
 * const pg = await startPostgres();
 * const pool = new pg.Pool({ connectionString: pg.url });
 * await pg.stop();
 * ```
 */
export async function startPostgres(): Promise<PostgresService> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-harden-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) execFileSync('chown', ['postgres:postgres', dir]);
  asPostgres([pgBin('initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off`;
  const start = async () => {
    asPostgres([pgBin('pg_ctl'), '-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
    await waitFor(() => canConnect(port), `postgres on port ${port}`);
  };
  const halt = () => asPostgres([pgBin('pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop']);
  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async pause() {
      halt();
    },
    async resume() {
      await start();
    },
    async stop() {
      try {
        halt();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type { Connection, HostableServer, McpHttpHost, McpHttpHostOptions } from './mcp.js';
export { connectInMemory, hostMcpOverHttp, readJsonBody } from './mcp.js';
export { seededRandom } from './random.js';
