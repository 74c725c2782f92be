import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ALLOWED_AT_RUN_TIME, importsOf, PRODUCTION_ROOTS, RUN_TIME_FIELDS, TEST_TOOLING_ROOT, testToolingImport } from "./test-tooling-rule.js";
import { REPO_ROOT } from "./tracked-files.js";
import { workspaces, type Workspace } from "./workspaces.js";

/**
 * Production packages never import test tooling (see test-tooling-rule.ts):
 * not in their package.json, and not in what their build writes to dist/.
 * The build is read as it is on disk, so this needs `npx tsc -b
 * tsconfig.build.json` first (`npm run setup` and `npm test` do it).
 */
const all = workspaces();
const testTooling = all.filter((w) => w.dir.startsWith(TEST_TOOLING_ROOT));
const production = all.filter((w) => PRODUCTION_ROOTS.some((root) => w.dir.startsWith(root)));

/**
 * The .js and .d.ts files a workspace's tsconfig.json writes for its current
 * sources (none for a workspace without a build). A file an earlier build left
 * in dist/ for a source that is gone is no part of the package, so it is not read.
 */
function buildOutputs(w: Workspace): string[] {
  const configPath = join(REPO_ROOT, w.dir, "tsconfig.json");
  if (!existsSync(configPath)) return [];
  const host: ts.ParseConfigFileHost = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(`${configPath}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    },
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, host);
  if (!parsed || parsed.options.noEmit) return [];
  return parsed.fileNames.flatMap((source) => ts.getOutputFileNames(parsed, source, false).filter((out) => /\.(js|d\.ts)$/.test(out)));
}

describe("test tooling stays out of production packages", () => {
  it("knows the production packages and the test workspaces", () => {
    expect(production.map((w) => w.name)).toEqual(expect.arrayContaining(["@o3ml/o3ml", "@o3ml/cli", "@o3ml/client", "@o3ml/storage-service", "@o3ml/o3-client", "@o3ml/errors"]));
    expect(testTooling.map((w) => w.name)).toEqual(expect.arrayContaining(["@o3ml/standin", "@o3ml/conformance", "@o3ml/reliability"]));
  });

  it("no production package.json names a test workspace among what it needs at run time", () => {
    const names = new Set(testTooling.map((w) => w.name));
    const offences = production.flatMap((w) =>
      RUN_TIME_FIELDS.flatMap((field) =>
        Object.keys((w.manifest[field] as Record<string, string> | undefined) ?? {})
          .filter((dep) => names.has(dep) && !ALLOWED_AT_RUN_TIME[w.name]?.includes(dep))
          .map((dep) => `${w.dir}/package.json: ${field} names the test workspace ${dep}`),
      ),
    );
    expect(offences).toEqual([]);
  });

  it("no file a build writes to dist/ imports vitest, a test-only module or (in production packages) a test workspace", () => {
    const missing: string[] = [];
    const offences: string[] = [];
    let read = 0;
    for (const w of all) {
      const forbidden = production.includes(w) ? testTooling.map((t) => t.name).filter((name) => !ALLOWED_AT_RUN_TIME[w.name]?.includes(name)) : [];
      for (const output of buildOutputs(w)) {
        const shown = relative(REPO_ROOT, output);
        if (!existsSync(output)) {
          missing.push(shown);
          continue;
        }
        read++;
        for (const specifier of importsOf(readFileSync(output, "utf8"))) {
          const why = testToolingImport(specifier, forbidden);
          if (why) offences.push(`${shown} imports ${specifier} (${why})`);
        }
      }
    }
    expect(missing, "not built: run npx tsc -b tsconfig.build.json").toEqual([]);
    expect(offences).toEqual([]);
    // Every production package but the generated-code one has a build of many files.
    expect(read).toBeGreaterThan(200);
  });
});

describe("the test-tooling rule", () => {
  const workspacesOfTests = ["@o3ml/standin", "@o3ml/conformance"];
  const why = (text: string) => importsOf(text).map((s) => testToolingImport(s, workspacesOfTests) ?? `ok ${s}`);

  it("finds the test runner, test-only modules and test workspaces in emitted code", () => {
    expect(why(`import { expect } from "vitest";\nimport { x } from "./conformance-support.js";`)).toEqual(["the test runner", "ok ./conformance-support.js"]);
    expect(why(`export * from "./fixtures.test-support.js";\nexport { suite } from "./conformance.test-suite.js";`)).toEqual(["a test-only module", "a test-only module"]);
    expect(why(`const { startMoto } = await import("@o3ml/standin");\nrequire("@o3ml/conformance/suite");`)).toEqual([
      "the test workspace @o3ml/standin",
      "the test workspace @o3ml/conformance",
    ]);
    expect(why(`import type { TestContext } from "@vitest/runner";`)).toEqual(["the test runner"]);
  });

  it("lets production imports through, names that merely look alike included", () => {
    expect(why(`import { O3mlError } from "@o3ml/errors";\nimport "./vitest-report.js";\nimport { x } from "@o3ml/standin-like";\nimport "./latest.js";`)).toEqual([
      "ok @o3ml/errors",
      "ok ./vitest-report.js",
      "ok @o3ml/standin-like",
      "ok ./latest.js",
    ]);
  });
});
