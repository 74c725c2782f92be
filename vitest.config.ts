import { defineConfig } from "vitest/config";

// One vitest run over every TypeScript package; each package's tests sit
// beside its code as *.test.ts. End-to-end tests start their own servers.
export default defineConfig({
  test: {
    projects: ["packages/*", "services/*"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Hostile-input tests provoke warnings on purpose; keep test output readable.
    env: { O3ML_LOG_LEVEL: process.env.O3ML_LOG_LEVEL ?? "error" },
  },
});
