/** In-process micro-benchmark of each middleware's cost per call (filled in as packages land). */
console.log('micro-benchmarks: see docs/performance.md');
