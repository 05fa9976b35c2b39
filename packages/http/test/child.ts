import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./child-server.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** A server process started from child-server.mjs. */
export interface ChildServer {
  readonly process: ChildProcess;
  readonly url: URL;
  readonly port: number;
  /** Resolves with the next stdout message that has `key`. */
  next<T = unknown>(key: string): Promise<T>;
  send(command: string): void;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  kill(): Promise<void>;
}

export async function startChild(env: Record<string, string>, nodeArgs: string[] = []): Promise<ChildServer> {
  if (!existsSync(dist))
    throw new Error('build @mcp-harden/http first: pnpm --filter @mcp-harden/http build');
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiters: Array<{ key: string; resolve: (v: unknown) => void }> = [];
  const backlog: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    const i = waiters.findIndex((w) => w.key in message);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(message);
    else backlog.push(message);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const next = <T>(key: string) =>
    new Promise<T>((resolve, reject) => {
      const j = backlog.findIndex((m) => key in m);
      if (j >= 0) return resolve(backlog.splice(j, 1)[0]![key] as T);
      waiters.push({ key, resolve: (m) => resolve((m as Record<string, unknown>)[key] as T) });
      void exited.then((code) => reject(new Error(`child exited (${code}) before sending ${key}`)));
    });
  const url = new URL(await next<string>('url'));
  return {
    process: child,
    url,
    port: Number(url.port),
    next,
    send: (command) => child.stdin!.write(`${command}\n`),
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
