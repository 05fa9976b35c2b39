/** Starting, preparing and loading one benchmarked server process. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export interface ServerSpec {
  /** Short label used in tables and the chart. */
  name: string;
  /** What it is, for the report. */
  description: string;
  /** Script under dist/servers/. */
  script: string;
  env?: Record<string, string>;
  /** Extra request headers, static (the server may also announce a bearer token, see startServer). */
  headers?: () => Record<string, string>;
}

export interface LoadResult {
  server: string;
  tool: string;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  peakRssMiB: number;
}

export interface Running {
  url: string;
  pid: number;
  headers: Record<string, string>;
  stop(): Promise<void>;
}

const PROTOCOL_VERSION = '2025-06-18';

export async function startServer(spec: ServerSpec): Promise<Running> {
  const script = fileURLToPath(new URL(`./servers/${spec.script}`, import.meta.url));
  // BENCH_NODE_ARGS: extra node flags for the server processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...process.env, PORT: '0', NODE_ENV: 'production', ...spec.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // A server that wants a bearer token prints `TOKEN <jwt>` before `READY <port>`.
  let token: string | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.name} did not start in 20 s`)), 20_000);
    child.once('exit', (code) => reject(new Error(`${spec.name} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const tokenLine = /^TOKEN (\S+)$/.exec(line);
      if (tokenLine) token = tokenLine[1];
      const match = /^READY (\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  const url = `http://127.0.0.1:${port}/mcp`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': PROTOCOL_VERSION,
    ...spec.headers?.(),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  // A session-based server needs initialize first; a stateless one ignores it.
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      },
    }),
  });
  await init.text();
  const session = init.headers.get('mcp-session-id');
  if (session) {
    headers['mcp-session-id'] = session;
    await (
      await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      })
    ).text();
  }
  return {
    url,
    pid: child.pid!,
    headers,
    async stop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      });
    },
  };
}

export function callBody(tool: string, id = 1): string {
  const args = tool === 'echo' ? { text: 'hello from the benchmark' } : {};
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: tool, arguments: args },
  });
}

/** One call, to check the server answers correctly before it is measured. */
export async function checkCall(running: Running, tool: string, expect: string): Promise<void> {
  const res = await fetch(running.url, { method: 'POST', headers: running.headers, body: callBody(tool) });
  const text = await res.text();
  if (res.status !== 200 || !text.includes(expect)) {
    throw new Error(`unexpected answer to ${tool}: ${res.status} ${text.slice(0, 300)}`);
  }
}

/** Peak resident set size of a process (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

export async function load(
  running: Running,
  tool: string,
  options: { connections: number; durationSeconds: number },
): Promise<Omit<LoadResult, 'server' | 'tool' | 'peakRssMiB'>> {
  let id = 1;
  const result = await autocannon({
    url: running.url,
    method: 'POST',
    headers: running.headers,
    // Unique JSON-RPC ids: session-based servers refuse a second in-flight request with the same id.
    requests: [{ setupRequest: (request) => ({ ...request, body: callBody(tool, ++id) }) }],
    connections: options.connections,
    duration: options.durationSeconds,
  });
  return {
    callsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

/** Median: one sample disturbed by another process on the shared machine does not move it. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
