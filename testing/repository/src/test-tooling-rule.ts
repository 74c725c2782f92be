import ts from "typescript";

/**
 * What separates production code from test tooling, as one rule both checks
 * of test-tooling.test.ts apply:
 * - test tooling is every workspace under testing/ (the stand-in, the
 *   conformance suite, the reliability suite, these checks);
 * - production packages are the workspaces under packages/ and services/;
 * - a production package may name test tooling only in devDependencies (its
 *   own tests), never in what it carries at run time, with one exception:
 *   `o3ml serve --standin` imports the stand-in (only when asked for; it is
 *   a devDependency, so an installed @o3ml/o3ml goes without it).
 */
export const TEST_TOOLING_ROOT = "testing/";
export const PRODUCTION_ROOTS = ["packages/", "services/"];
export const ALLOWED_AT_RUN_TIME: Record<string, readonly string[]> = { "@o3ml/o3ml": ["@o3ml/standin"] };
export const RUN_TIME_FIELDS = ["dependencies", "optionalDependencies", "peerDependencies"] as const;

/** The module names a JavaScript or declaration file imports, exports from or requires. */
export function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/**
 * Why importing `specifier` makes a build carry test tooling, or undefined
 * when it does not. `testWorkspaces` are the package names under testing/
 * this build may not use.
 */
export function testToolingImport(specifier: string, testWorkspaces: readonly string[]): string | undefined {
  if (/^(vitest|@vitest\/[^/]+|vite-node)(\/|$)/.test(specifier)) return "the test runner";
  // The suffixes the packages' tsconfig.json files keep out of their builds (scripts/sync-tsconfig.mjs).
  if (/\.(test|test-support|test-helper|test-suite|fixture)(\.[cm]?[jt]s)?$/.test(specifier)) return "a test-only module";
  const workspace = testWorkspaces.find((name) => specifier === name || specifier.startsWith(`${name}/`));
  return workspace ? `the test workspace ${workspace}` : undefined;
}
