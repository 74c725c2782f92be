import { defineConfig } from "vitest/config";

// One vitest run over every TypeScript package; each package's tests sit
// beside its code as *.test.ts, and the test tooling's own suites sit in
// testing/. End-to-end tests start their own servers.
export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "testing/*/src/**/*.test.ts", "benchmarks/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 240_000,
    // Test files start real servers; two at a time suits a 2-core machine.
    maxWorkers: 2,
    minWorkers: 1,
    // Hostile-input tests provoke warnings on purpose; keep test output readable.
    env: { O3ML_LOG_LEVEL: process.env.O3ML_LOG_LEVEL ?? "error" },
  },
});
