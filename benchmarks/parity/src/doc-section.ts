/**
 * The part of docs/performance.md that shows the committed full run: its run
 * line and host load, which peer ran where, the summary per peer and
 * workflow, every cell's median and IQR, every failure and the plots. A
 * committed full run (run-plan) rewrites it between the two markers, so the
 * page always shows the run in benchmarks/results/full.*; nothing outside
 * the markers is touched, and a page without them is left alone.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { coverageSection, failuresSection, headerSection, summarySection, workflowSections } from "./report-markdown.js";
import type { Report } from "./results.js";

export const BEGIN = "<!-- parity-full-run:begin (written by a committed `npm run bench`; see benchmarks/parity/src/doc-section.ts) -->";
export const END = "<!-- parity-full-run:end -->";

/** `plotDir`: where the page finds full-*.svg, relative to the page. */
export function renderDocSection(r: Report, plots: string[], plotDir: string): string {
  const out = [...headerSection(r), ""];
  out.push(...coverageSection(r, "###"), ...summarySection(r, "###"));
  out.push("", "### Every cell", "", "Primary figure of every cell, median (q1–q3) of the repeats, and o3ml's ratio against each peer (≈: within the spread of the repeats). Latency percentiles and every ratio: `benchmarks/results/full.md`.");
  out.push(...workflowSections(r, "####"));
  const failed = failuresSection(r, "###");
  if (failed.length) out.push("", ...failed);
  if (plots.length) out.push("", "### Plots", "", ...plots.map((p) => `![${p}](${plotDir}/${p})`));
  return out.join("\n");
}

/** Replaces the text between the markers of `page`; false when the page has no markers. */
export function updateDocSection(page: string, section: string): boolean {
  if (!existsSync(page)) return false;
  const text = readFileSync(page, "utf8");
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) return false;
  writeFileSync(page, `${text.slice(0, a + BEGIN.length)}\n\n${section}\n\n${text.slice(b)}`);
  return true;
}
