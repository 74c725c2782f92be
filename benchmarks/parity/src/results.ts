/**
 * The benchmark's record: measurements of every side (each the median of
 * its repeats, with the IQR and every raw value), the o3ml-vs-peer
 * comparisons derived from them (ratio > 1 means o3ml is better, whichever
 * way the unit points), what could not be measured and why, and the files
 * they are written to (see run-plan for which folder).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HostLoad } from "./host-load.js";
import type { ParityRow } from "./parity-matrix.js";
import { renderMarkdown } from "./report-markdown.js";
import { renderPlots } from "./report-plots.js";
import { distinct, spread, type Spread } from "./stats.js";
import type { CoverageRow, SummaryRow } from "./summary.js";
import type { EndpointKind } from "./targets.js";

export const O3ML = "o3ml";

/** One figure of one side, over its repeats. */
export interface Measurement extends Spread {
  who: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** The median of the repeats: what comparisons and tables use. */
  value: number;
  /** The family the summary groups it in ("checkpoint save", "objects (TypeScript)", …). */
  workflow: string;
  target: string;
  endpoint: EndpointKind;
  /** The one figure of its cell that counts in summaries (throughput or time); latency percentiles are not. */
  primary: boolean;
  note?: string;
}

export type MeasurementBase = Omit<Measurement, keyof Spread | "value">;

export function measurement(base: MeasurementBase, values: number[]): Measurement {
  const s = spread(values);
  return { ...base, value: s.median, ...s };
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
  workflow: string;
  target: string;
  endpoint: EndpointKind;
  primary: boolean;
  /** The two sides' IQRs do not overlap: the repeats tell them apart. */
  distinct: boolean;
}

export interface Unavailable {
  target: string;
  peer: string;
  workflow: string;
  what: string;
  /** The whole error, or why the peer has no such path. */
  reason: string;
  kind: "failed" | "not offered";
}

export interface Report {
  schema: 2;
  at: string;
  mode: "quick" | "full";
  command: string;
  seconds: number;
  /** `loadavg` is the load at the end (kept from schema 1); `load` says whether the host was busy. */
  host: { cpus: number; loadavg: number[]; node: string; platform: string; load: HostLoad };
  method: { warmup: number; repeats: number; order: string; targets: string; statistic: string };
  targets: Record<string, string>;
  endpoints: Record<string, { kind: EndpointKind; url: string }>;
  wan: { method: string; netem: string; latencyMs: number; bandwidthMiBps: number };
  notes: string[];
  parity: ParityRow[];
  comparisons: Comparison[];
  measurements: Measurement[];
  unavailable: Unavailable[];
  summary: SummaryRow[];
  coverage: CoverageRow[];
}

/** Pairs o3ml's value of each metric with every other side's value of the same metric. */
export function compare(measurements: Measurement[]): Comparison[] {
  const ours = new Map(measurements.filter((m) => m.who === O3ML).map((m) => [m.metric, m]));
  const out: Comparison[] = [];
  for (const m of measurements) {
    const o = ours.get(m.metric);
    if (m.who === O3ML || !o || !(o.value > 0) || !(m.value > 0)) continue;
    const ratio = m.higherIsBetter ? o.value / m.value : m.value / o.value;
    out.push({
      metric: m.metric,
      unit: m.unit,
      higherIsBetter: m.higherIsBetter,
      o3ml: o.value,
      peer: m.who,
      peerValue: m.value,
      ratio,
      workflow: m.workflow,
      target: m.target,
      endpoint: m.endpoint,
      primary: m.primary,
      distinct: distinct(o, m),
    });
  }
  return out;
}

/** Writes `<name>.json`, `<name>.md` and `<name>-*.svg` into `dir`; returns the paths and the plot files. */
export function writeReport(dir: string, name: string, report: Report): { written: string[]; plots: string[] } {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const plots = renderPlots(report);
  for (const [plot, svg] of Object.entries(plots)) {
    writeFileSync(join(dir, `${name}-${plot}.svg`), svg);
    written.push(join(dir, `${name}-${plot}.svg`));
  }
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(report, null, 2) + "\n");
  writeFileSync(join(dir, `${name}.md`), renderMarkdown(report, Object.keys(plots).map((p) => `${name}-${p}.svg`)));
  written.push(join(dir, `${name}.json`), join(dir, `${name}.md`));
  return { written, plots: Object.keys(plots).map((p) => `${name}-${p}.svg`) };
}
