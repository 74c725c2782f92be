import { fileURLToPath } from "node:url";

/**
 * Where the compiled module of a worker thread of this folder is (`name`
 * without extension). The service runs from dist/, where it sits beside this
 * file; tests run this file from src/ (vitest compiles it on the fly, worker
 * threads cannot), so they use the build of dist/, which `npm test` makes
 * before any test runs.
 */
export function workerFile(name: string): string {
  const here = import.meta.url;
  const url = here.endsWith(".ts") ? new URL(`../../dist/colocation/${name}.js`, here) : new URL(`./${name}.js`, here);
  return fileURLToPath(url);
}
