import { defineConfig } from 'vitest/config';

// Some tests here drive hundreds of requests or thousands of property runs; under CI, turbo runs
// every package's suite at once on a small machine. They assert outcomes, never speed, so a
// generous per-test limit only avoids false failures.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 60_000 } });
