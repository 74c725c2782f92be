import { mkdir, readFile, writeFile } from "node:fs/promises";
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
 * Merges one benchmark's section into benchmarks/results/latest.json and
 * rewrites latest.md, keeping the other benchmarks' latest sections.
 */
export async function writeResults(name: string, section: { comparisons: Comparison[]; markdown: string; quick: boolean }): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  const jsonPath = join(resultsDir, "latest.json");
  let all: { sections: Record<string, unknown>; comparisons: Comparison[]; parity: unknown[] } = { sections: {}, comparisons: [], parity: [] };
  try {
    all = JSON.parse(await readFile(jsonPath, "utf8"));
  } catch {
    // First run: start a new file.
  }
  all.sections[name] = { ...section, at: new Date().toISOString(), host: { cpus: (await import("node:os")).cpus().length, node: process.version } };
  all.comparisons = Object.values(all.sections).flatMap((s) => (s as { comparisons: Comparison[] }).comparisons);
  await writeFile(jsonPath, JSON.stringify(all, null, 2) + "\n");
  const md = Object.entries(all.sections)
    .map(([n, s]) => `## ${n}\n\n${(s as { at: string }).at}${(s as { quick: boolean }).quick ? " (quick)" : ""}\n\n${(s as { markdown: string }).markdown}\n`)
    .join("\n");
  await writeFile(join(resultsDir, "latest.md"), `# Benchmark results\n\n${md}`);
}
