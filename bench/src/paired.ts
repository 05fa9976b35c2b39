/**
 * Paired load slices: every variant runs at once (each in its own process), and each slice loads
 * them one after another for `BENCH_SLICE_SECONDS`, in an order that rotates from slice to slice.
 * Each variant's figure is the median over slices of its ratio to the SDK per-request server (1)
 * and to the bare mcp-harden server measured in the same slice, so the machine's speed drifting
 * between slices (this shared machine switches between two speeds ~1.7x apart) cancels.
 *
 * Variants: (1), the bare server, the bare server with the hand-written floors of src/floors.ts
 * (what tracing and an audit trail cost in any implementation), the full server, the full server
 * recording 10 % of the traces, plus the full server without each package named in
 * `BENCH_PAIRED_WITHOUT`. Writes results/<date>-paired.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { checkCall, load, median, type Running, type ServerSpec, startServer } from './harness.js';
import { SERVERS } from './servers.js';

const SLICES = Number(process.env.BENCH_SLICES ?? 8);
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const TOOLS = ['echo', 'report'].filter((t) => process.env.BENCH_TOOLS?.split(',').includes(t) ?? true);
const WITHOUT = process.env.BENCH_PAIRED_WITHOUT?.split(',').filter(Boolean) ?? [];
const REFERENCE = 'sdk-v1-per-request';
const BARE = 'mcp-harden-bare';

const byName = (name: string): ServerSpec => {
  const spec = SERVERS.find((s) => s.name === name);
  if (!spec) throw new Error(`no server ${name}`);
  return spec;
};
const FULL = byName('mcp-harden-full');
const floor = (name: string, value: string, description: string): ServerSpec => ({
  name,
  description,
  script: 'harden-bare.js',
  env: { BENCH_FLOOR: value },
});

const VARIANTS: ServerSpec[] = [
  byName(REFERENCE),
  byName(BARE),
  floor(
    'bare + otel floor',
    'otel',
    'one span (real OTel SDK, batch processor, ALS context) and one histogram record',
  ),
  floor('bare + audit floor', 'audit', 'one SHA-256-chained JSON line, group-committed with fdatasync'),
  floor('bare + both floors', 'audit,otel', 'both floors: the least the required tracing and audit cost'),
  FULL,
  {
    ...FULL,
    name: 'full, 10 % of traces sampled',
    description:
      'mcp-harden-full with a ParentBased(TraceIdRatioBased(0.1)) sampler (metrics still on every call)',
    env: { BENCH_SAMPLE_RATIO: '0.1' },
  },
  ...WITHOUT.map((w) => ({
    ...FULL,
    name: `full without ${w}`,
    description: `mcp-harden-full with BENCH_WITHOUT=${w}`,
    env: { BENCH_WITHOUT: w },
  })),
];

/** User + system CPU time of a process, in clock ticks (1/100 s). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

interface Sample {
  callsPerSecond: number;
  cpuMicros: number;
}

async function slice(running: Running, tool: string): Promise<Sample> {
  const before = cpuTicks(running.pid);
  const result = await load(running, tool, { connections: CONNECTIONS, durationSeconds: SLICE_SECONDS });
  if (result.errors > 0) throw new Error(`${result.errors} failed calls`);
  const calls = result.callsPerSecond * SLICE_SECONDS;
  return {
    callsPerSecond: result.callsPerSecond,
    cpuMicros: ((cpuTicks(running.pid) - before) * 10_000) / calls,
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const running = new Map<string, Running>();
  const lines: string[] = [];
  try {
    for (const spec of VARIANTS) running.set(spec.name, await startServer(spec));
    for (const tool of TOOLS) {
      for (const [name, r] of running) {
        await checkCall(r, tool, tool === 'echo' ? 'hello from the benchmark' : 'Quarterly');
        await load(r, tool, { connections: CONNECTIONS, durationSeconds: 1 });
        console.error(`${tool} warmed ${name}`);
      }
      const samples = new Map<string, Sample[]>(VARIANTS.map((v) => [v.name, []]));
      for (let i = 0; i < SLICES; i++) {
        const rotated = VARIANTS.map((_, k) => VARIANTS[(k + i) % VARIANTS.length]!);
        for (const spec of i % 2 === 0 ? rotated : rotated.reverse()) {
          samples.get(spec.name)!.push(await slice(running.get(spec.name)!, tool));
        }
        console.error(`${tool} slice ${i + 1}/${SLICES}`);
      }
      const of = (name: string) => samples.get(name)!;
      lines.push(
        `### ${tool}`,
        '',
        '| variant | calls/s (median) | × (1), median of slices | vs bare, median of slices (range) | server CPU µs/call |',
        '| --- | ---: | ---: | ---: | ---: |',
      );
      for (const spec of VARIANTS) {
        const mine = of(spec.name);
        const toRef = mine.map((s, k) => s.callsPerSecond / of(REFERENCE)[k]!.callsPerSecond);
        const toBare = mine.map((s, k) => s.callsPerSecond / of(BARE)[k]!.callsPerSecond);
        lines.push(
          `| ${spec.name} | ${median(mine.map((s) => s.callsPerSecond)).toFixed(0)} | ${median(toRef).toFixed(2)}× | ${median(toBare).toFixed(2)} (${Math.min(...toBare).toFixed(2)}–${Math.max(...toBare).toFixed(2)}) | ${median(mine.map((s) => s.cpuMicros)).toFixed(0)} |`,
        );
      }
      lines.push('');
    }
  } finally {
    await Promise.all([...running.values()].map((r) => r.stop()));
  }

  const date = new Date().toISOString().slice(0, 10);
  const report = [
    `# Paired slices, ${date}`,
    '',
    `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}. Every variant running at once; ` +
      `${SLICES} slices of ${SLICE_SECONDS} s per variant and tool, ${CONNECTIONS} connections, rotating order; ` +
      `${((Date.now() - started) / 1000).toFixed(0)} s in all. Ratios are taken within a slice, then the median.`,
    '',
    ...VARIANTS.map((v) => `- **${v.name}**: ${v.description}`),
    '',
    ...lines,
  ].join('\n');
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${date}-paired.md`, `${report}\n`);
  console.log(report);
}

await main();
