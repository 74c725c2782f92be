// Writes each workspace package's tsconfig.json references from its
// package.json dependencies, so the TypeScript build graph and the npm/nx
// dependency graph are one and the same. Run after adding a dependency.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const dirs = ["packages/errors", "packages/proto", "packages/integrity", "packages/client", "packages/o3-client",
  "testing/standin", "packages/metadata", "packages/cache", "packages/datasets", "packages/cli", "services/storage", "packages/o3ml"]
  .filter((d) => existsSync(join(root, d, "package.json")));
// Build references beyond the dependencies: `o3ml serve --standin` loads the stand-in, a development
// dependency, only when asked for (packages/o3ml/src/serve-store.ts), but its types are compiled in.
const devReferences = { "packages/o3ml": ["@o3ml/standin"] };
const byName = new Map(dirs.map((d) => [JSON.parse(readFileSync(join(root, d, "package.json"), "utf8")).name, d]));
for (const d of dirs) {
  const pkg = JSON.parse(readFileSync(join(root, d, "package.json"), "utf8"));
  const refs = [...Object.keys(pkg.dependencies ?? {}), ...(devReferences[d] ?? [])].filter((n) => byName.has(n))
    .map((n) => ({ path: relative(join(root, d), join(root, byName.get(n))) }));
  const cfg = {
    extends: "../../tsconfig.base.json",
    compilerOptions: { rootDir: "src", outDir: "dist", tsBuildInfoFile: "dist/.tsbuildinfo" },
    include: ["src/**/*.ts"],
    exclude: ["src/**/*.test.ts", "src/**/*.test-support.ts", "src/**/*.test-helper.ts", "src/**/*.fixture.ts", "src/**/*.test-suite.ts"],
    references: refs,
  };
  writeFileSync(join(root, d, "tsconfig.json"), JSON.stringify(cfg, null, 2) + "\n");
}
writeFileSync(join(root, "tsconfig.build.json"), JSON.stringify({ files: [], references: dirs.map((d) => ({ path: d })) }, null, 2) + "\n");
console.log(`tsconfig references written for ${dirs.length} packages`);
