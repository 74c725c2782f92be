import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One side-by-side figure; ratio > 1 means o3ml is better. */
export interface Comparison {
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  o3ml: number;
  peer: string;
  peerValue: number;
  ratio: number;
}

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "..", "results");

/**
 * Writes one stand-alone benchmark's figures to benchmarks/results/<name>.{json,md}.
 * latest.{json,md} belong to the parity benchmark (benchmarks/parity, `npm run bench`),
 * which measures the same object paths among everything else; nothing here touches them.
 */
export async function writeResults(name: string, section: { comparisons: Comparison[]; markdown: string; quick: boolean }): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  const at = new Date().toISOString();
  const host = { cpus: (await import("node:os")).cpus().length, node: process.version };
  await writeFile(join(resultsDir, `${name}.json`), JSON.stringify({ name, at, host, ...section }, null, 2) + "\n");
  await writeFile(join(resultsDir, `${name}.md`), `# ${name}\n\n${at}${section.quick ? " (quick)" : ""}\n\n${section.markdown}\n`);
}
