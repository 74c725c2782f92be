// ESLint with type information, as `npm test` runs it (scripts/test.sh): a chosen set of
// typescript-eslint rules that each catch a kind of bug the compiler lets through (a promise
// nobody awaits, a rejection that is no Error, a switch that misses a case...), not a style guide.
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  {
    // Build output and generated code are not written by hand; node_modules is ignored by default.
    ignores: ["**/dist/**", "**/gen/**", "dist-packages/**", "benchmarks/results/**", ".venv*/**"],
  },
  {
    // Exactly the sources tsconfig.tests.json type-checks: the packages, services and test
    // workspaces with their tests. One program for all of them is the cheapest type information.
    files: ["packages/*/src/**/*.ts", "services/*/src/**/*.ts", "testing/*/src/**/*.ts", "benchmarks/parity/src/**/*.ts"],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: {
        project: "./tsconfig.tests.json",
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // Promises: every one is awaited, returned, or explicitly `void`ed with a reason.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      // Inside try/catch/finally a returned promise must be awaited, or its rejection escapes the catch.
      "@typescript-eslint/return-await": ["error", "in-try-catch"],
      "@typescript-eslint/only-throw-error": "error",
      // A rejection made here carries an Error; a reason passed on unchanged (typed unknown) may be anything.
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingUnknown: true }],
      // A switch over a union names every member (a `default` counts as naming the rest).
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "@typescript-eslint/no-unnecessary-type-assertion": "error",
      // Interpolating an object without a toString prints "[object Object]".
      "@typescript-eslint/no-base-to-string": "error",
      "@typescript-eslint/no-for-in-array": "error",
      "@typescript-eslint/no-array-delete": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
);
