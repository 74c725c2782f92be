/**
 * The benchmark's record: measurements of every side, the o3ml-vs-peer
 * comparisons derived from them (ratio > 1 means o3ml is better, whichever
 * way the unit points), and the files they are written to.
 *
 * Every run writes benchmarks/results/latest.{json,md} and latest-*.svg; a
 * full run also writes full.{json,md} and full-*.svg, which
 * docs/performance.md cites, so a later quick run never replaces them.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ParityRow } from "./parity-matrix.js";
import { renderMarkdown } from "./report-markdown.js";
import { renderPlots } from "./report-plots.js";

export const O3ML = "o3ml";

/** One figure of one side. */
export interface Measurement {
  who: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  value: number;
}

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

export interface Unavailable {
  target: string;
  peer: string;
  what: string;
  reason: string;
}

export interface Report {
  schema: 1;
  at: string;
  mode: "quick" | "full";
  command: string;
  seconds: number;
  host: { cpus: number; loadavg: number[]; node: string; platform: string };
  targets: Record<string, string>;
  wan: { method: string; netem: string; latencyMs: number; bandwidthMiBps: number };
  notes: string[];
  parity: ParityRow[];
  comparisons: Comparison[];
  measurements: Measurement[];
  unavailable: Unavailable[];
}

/** Pairs o3ml's value of each metric with every other side's value of the same metric. */
export function compare(measurements: Measurement[]): Comparison[] {
  const ours = new Map(measurements.filter((m) => m.who === O3ML).map((m) => [m.metric, m]));
  const out: Comparison[] = [];
  for (const m of measurements) {
    const o = ours.get(m.metric);
    if (m.who === O3ML || !o || !(o.value > 0) || !(m.value > 0)) continue;
    const ratio = m.higherIsBetter ? o.value / m.value : m.value / o.value;
    out.push({ metric: m.metric, unit: m.unit, higherIsBetter: m.higherIsBetter, o3ml: o.value, peer: m.who, peerValue: m.value, ratio });
  }
  return out;
}

export function writeReport(dir: string, report: Report): string[] {
  mkdirSync(dir, { recursive: true });
  const names = report.mode === "full" ? ["latest", "full"] : ["latest"];
  const written: string[] = [];
  for (const name of names) {
    const plots = renderPlots(report);
    for (const [plot, svg] of Object.entries(plots)) {
      writeFileSync(join(dir, `${name}-${plot}.svg`), svg);
      written.push(join(dir, `${name}-${plot}.svg`));
    }
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(report, null, 2) + "\n");
    writeFileSync(join(dir, `${name}.md`), renderMarkdown(report, Object.keys(plots).map((p) => `${name}-${p}.svg`)));
    written.push(join(dir, `${name}.json`), join(dir, `${name}.md`));
  }
  return written;
}
