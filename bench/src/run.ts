/**
 * Load benchmark: the same two tools served over Streamable HTTP on loopback by the official
 * SDK (v1 and v2), tmcp, fastmcp and mcp-harden, measured in one run with autocannon.
 * Servers run one at a time in child processes, alternating A B A B across rounds so drift
 * cancels. Writes bench/results/<date>.md and a PNG bar chart.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.js';
import {
  checkCall,
  type LoadResult,
  load,
  median,
  peakRssMiB,
  type ServerSpec,
  startServer,
} from './harness.js';
import { SERVERS } from './servers.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ALL_TOOLS = ['echo', 'report'] as const;
// BENCH_TOOLS: comma-separated subset of the tools (for profiling one tool).
const TOOLS = ALL_TOOLS.filter((t) => process.env.BENCH_TOOLS?.split(',').includes(t) ?? true);
const REFERENCE = 'mcp-harden-full';

async function measure(spec: ServerSpec, tool: string): Promise<LoadResult> {
  const running = await startServer(spec);
  try {
    await checkCall(running, tool, tool === 'echo' ? 'hello from the benchmark' : 'Quarterly');
    // Warm-up: JIT, caches, connection pools.
    await load(running, tool, { connections: CONNECTIONS, durationSeconds: 1 });
    const measured = await load(running, tool, { connections: CONNECTIONS, durationSeconds: DURATION });
    return { server: spec.name, tool, ...measured, peakRssMiB: peakRssMiB(running.pid) };
  } finally {
    await running.stop();
  }
}

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',');
  const servers = SERVERS.filter(
    (s) =>
      existsSync(fileURLToPath(new URL(`./servers/${s.script}`, import.meta.url))) &&
      (!only || only.includes(s.name) || s.name === REFERENCE),
  );
  const loadAtStart = loadAverage();
  const startedAt = Date.now();
  const samples: LoadResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A B A B ...: odd rounds run the list backwards so no server always goes first.
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const tool of TOOLS) {
      for (const spec of order) {
        const sample = await measure(spec, tool);
        samples.push(sample);
        console.error(
          `round ${round + 1} ${tool.padEnd(6)} ${spec.name.padEnd(24)} ${sample.callsPerSecond.toFixed(0).padStart(7)} calls/s  p50 ${sample.p50Ms} ms  p99 ${sample.p99Ms} ms  errors ${sample.errors}`,
        );
      }
    }
  }

  const rows = servers.flatMap((spec) =>
    TOOLS.map((tool) => {
      const mine = samples.filter((s) => s.server === spec.name && s.tool === tool);
      return {
        server: spec.name,
        description: spec.description,
        tool,
        callsPerSecond: median(mine.map((s) => s.callsPerSecond)),
        p50Ms: median(mine.map((s) => s.p50Ms)),
        p99Ms: median(mine.map((s) => s.p99Ms)),
        errors: mine.reduce((a, s) => a + s.errors, 0),
        peakRssMiB: Math.max(...mine.map((s) => s.peakRssMiB)),
      };
    }),
  );
  const reference = (tool: string) =>
    rows.find((r) => r.server === REFERENCE && r.tool === tool)?.callsPerSecond;

  const date = new Date().toISOString().slice(0, 10);
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const lines = [
    `# Benchmark ${date}`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${process.platform} ${process.arch}, Node ${process.version}. ${ROUNDS} rounds × ${DURATION} s per server and tool (after a 1 s warm-up), ${CONNECTIONS} connections, autocannon on loopback, servers alternated A B … / … B A. Load average at start ${loadAtStart}, at end ${loadAverage()}; run took ${((Date.now() - startedAt) / 60_000).toFixed(1)} min.`,
    '',
    'The machine is shared with other engineers running test suites, so figures are noisy: each cell is the median of the rounds, and ratios within this run are more trustworthy than absolute numbers.',
    '',
    '| server | tool | calls/s | p50 ms | p99 ms | peak RSS MiB | errors | calls/s vs mcp-harden-full |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const ref = reference(r.tool);
      const ratio = ref ? (r.callsPerSecond / ref).toFixed(2) : 'n/a';
      return `| ${r.server} | ${r.tool} | ${r.callsPerSecond.toFixed(0)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} | ${r.errors} | ${ratio} |`;
    }),
    '',
    '## Servers',
    '',
    ...servers.map((s) => `- **${s.name}**: ${s.description}`),
    '',
    '## Every round',
    '',
    '| round | tool | server | calls/s | p50 ms | p99 ms | errors |',
    '|---:|---|---|---:|---:|---:|---:|',
    ...samples.map(
      (s, i) =>
        `| ${Math.floor(i / (servers.length * TOOLS.length)) + 1} | ${s.tool} | ${s.server} | ${s.callsPerSecond.toFixed(0)} | ${s.p50Ms} | ${s.p99Ms} | ${s.errors} |`,
    ),
    '',
  ];
  writeFileSync(`${dir}${date}.md`, lines.join('\n'));
  writeFileSync(
    `${dir}${date}.png`,
    await renderChart(
      rows.map((r) => ({ label: r.server, group: r.tool, value: r.callsPerSecond })),
      `MCP tools/call throughput on loopback (calls/s, median of ${ROUNDS} rounds, higher is better) — ${date}`,
    ),
  );
  console.log(lines.join('\n'));
  console.log(`\nwritten: bench/results/${date}.md and .png`);
}

await main();
