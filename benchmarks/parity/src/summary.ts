/**
 * The two views that make a run trustworthy at a glance.
 *
 * Summary: per peer and workflow, the geometric mean of o3ml's ratios over
 * the cells of that workflow, each cell counted once (its primary figure:
 * throughput or time, never its latency percentiles too), and the same over
 * every cell of the peer. A geometric mean, because a mean of ratios would
 * overweight wins.
 *
 * Coverage: for every target, workflow and peer expected there, whether it
 * was measured, failed (with the reason), does not offer such a path, or —
 * a bug of the benchmark — left no trace at all.
 */
import { O3ML, type Comparison, type Measurement, type Unavailable } from "./results.js";

export interface SummaryRow {
  peer: string;
  /** A workflow, or "overall" (every cell of the peer). */
  workflow: string;
  cells: number;
  geomean: number;
  /** Cells where o3ml was better, and cells where the repeats' IQRs do not overlap. */
  wins: number;
  distinct: number;
  /** Cells the peer failed (so not in the mean): a mean over the cells that passed must say so. */
  failed: number;
}

export const OVERALL = "overall";

export function geomean(xs: number[]): number {
  return xs.length ? Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length) : NaN;
}

export function summarize(comparisons: Comparison[], unavailable: Unavailable[] = []): SummaryRow[] {
  const primary = comparisons.filter((c) => c.primary);
  const out: SummaryRow[] = [];
  const failures = (peer: string, workflow: string) =>
    new Set(unavailable.filter((u) => u.kind === "failed" && u.peer === peer && (workflow === OVERALL || u.workflow === workflow)).map((u) => `${u.target} ${u.workflow} ${u.what}`)).size;
  const row = (peer: string, workflow: string, cs: Comparison[]): SummaryRow => ({
    peer,
    workflow,
    cells: cs.length,
    geomean: geomean(cs.map((c) => c.ratio)),
    wins: cs.filter((c) => c.ratio > 1).length,
    distinct: cs.filter((c) => c.distinct).length,
    failed: failures(peer, workflow),
  });
  // A peer that failed everywhere still gets its rows: an empty mean beside its failures.
  const failed = unavailable.filter((u) => u.kind === "failed" && u.peer !== O3ML);
  for (const peer of [...new Set([...primary.map((c) => c.peer), ...failed.map((u) => u.peer)])]) {
    const mine = primary.filter((c) => c.peer === peer);
    const workflows = new Set([...mine.map((c) => c.workflow), ...failed.filter((u) => u.peer === peer).map((u) => u.workflow)]);
    for (const workflow of workflows) out.push(row(peer, workflow, mine.filter((c) => c.workflow === workflow)));
    out.push(row(peer, OVERALL, mine));
  }
  return out;
}

export type CoverageStatus = "measured" | "partial" | "failed" | "not offered" | "missing";

export interface CoverageCell {
  status: CoverageStatus;
  /** Primary figures measured. */
  cells: number;
  reasons: string[];
}

export interface CoverageRow {
  target: string;
  workflow: string;
  peers: Record<string, CoverageCell>;
}

/** What each target was expected to show: workflow → the sides that should appear in it. */
export type Expected = Record<string, Array<{ workflow: string; peers: string[] }>>;

export function coverage(expected: Expected, measurements: Measurement[], unavailable: Unavailable[]): CoverageRow[] {
  const rows: CoverageRow[] = [];
  for (const [target, workflows] of Object.entries(expected)) {
    for (const { workflow, peers } of workflows) {
      const cells: Record<string, CoverageCell> = {};
      for (const peer of peers) {
        const measured = measurements.filter((m) => m.target === target && m.workflow === workflow && m.who === peer && m.primary).length;
        const gone = unavailable.filter((u) => u.target === target && u.workflow === workflow && u.peer === peer);
        const failed = gone.filter((u) => u.kind === "failed");
        const reasons = [...new Set(gone.map((u) => `${u.what}: ${u.reason}`))];
        const status: CoverageStatus = failed.length
          ? measured
            ? "partial"
            : "failed"
          : measured
            ? "measured"
            : gone.length
              ? "not offered"
              : "missing";
        cells[peer] = { status, cells: measured, reasons: status === "missing" ? ["no figure and no reason recorded (a bug of the benchmark)"] : reasons };
      }
      rows.push({ target, workflow, peers: cells });
    }
  }
  return rows;
}

/** Coverage cells that are red: a failure, or a silent gap. */
export function redCells(rows: CoverageRow[]): Array<{ target: string; workflow: string; peer: string; cell: CoverageCell }> {
  return rows.flatMap((r) =>
    Object.entries(r.peers)
      .filter(([, c]) => c.status === "failed" || c.status === "partial" || c.status === "missing")
      .map(([peer, cell]) => ({ target: r.target, workflow: r.workflow, peer, cell })),
  );
}
