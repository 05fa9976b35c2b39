#!/usr/bin/env node
// Redaction throughput on a 1 MiB mixed document (the labelled corpus, repeated). Not part of
// `pnpm test`: numbers depend on the machine. Build first: pnpm --filter @mcp-harden/sanitize build
// Run: node bench/redact.bench.mjs
import { readFileSync } from 'node:fs';
import { createRedactor } from '../dist/index.js';

const records = readFileSync(new URL('../test/corpus/corpus.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line).text);
let doc = '';
for (let i = 0; Buffer.byteLength(doc) < 1024 * 1024; i = (i + 7) % records.length) doc += `${records[i]}\n`;
doc = doc.slice(0, 1024 * 1024);
const mib = Buffer.byteLength(doc) / (1024 * 1024);

const redactor = createRedactor();
redactor.redact(doc); // warm up
const runs = 10;
const times = [];
let counts = {};
for (let i = 0; i < runs; i++) {
  const start = performance.now();
  counts = redactor.redact(doc).counts;
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(runs / 2)];
const findings = Object.values(counts).reduce((a, b) => a + b, 0);
console.log(
  `redact: ${mib.toFixed(2)} MiB mixed document, ${findings} findings, median ${median.toFixed(1)} ms ` +
    `=> ${(mib / (median / 1000)).toFixed(1)} MiB/s (min ${times[0].toFixed(1)} ms, max ${times.at(-1).toFixed(1)} ms, node ${process.version})`,
);
