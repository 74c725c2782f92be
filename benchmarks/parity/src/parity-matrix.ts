/**
 * The functional parity matrix: each workflow of the project, and each raw
 * S3 operation it rests on, run on both targets. A cell is `pass`, `fail`
 * or `fallback` (the workflow succeeded, but only through o3ml's fallback for
 * a feature the endpoint lacks), with its latency and what was seen.
 */
import { O3mlError } from "@o3ml/errors";
import type { EndpointKind, TargetName } from "./targets.js";

export type CellStatus = "pass" | "fail" | "fallback";

export interface ParityCell {
  status: CellStatus;
  ms: number;
  notes: string;
  /** A `fail` that is the right answer for this target (O3 refusing what real O3 refuses). */
  expected?: boolean;
  /** The kind of endpoint the cell ran on. */
  endpoint?: EndpointKind;
}

/** One row of latest.json's `parity` array. */
export interface ParityRow {
  workflow: string;
  /** What the row exercises: a raw S3 operation, or an o3ml workflow over it. */
  layer: "raw S3" | "o3ml";
  s3: ParityCell;
  o3: ParityCell;
  notes: string;
}

/** What a check returns: nothing (pass), a note, or an explicit status with a note. */
export type CheckOutcome = void | string | { status: CellStatus; notes: string; expected?: boolean };

export interface WorkflowCheck {
  workflow: string;
  layer: "raw S3" | "o3ml";
  /** Row notes that hold for both targets (what is checked). */
  about: string;
  run(): Promise<CheckOutcome>;
}

/** Runs one check, timing it; a throw is a `fail` cell carrying the error's message. */
export async function runCheck(check: WorkflowCheck): Promise<ParityCell> {
  const t0 = performance.now();
  try {
    const out = await check.run();
    const ms = performance.now() - t0;
    if (out === undefined) return { status: "pass", ms, notes: "" };
    if (typeof out === "string") return { status: "pass", ms, notes: out };
    return { status: out.status, ms, notes: out.notes, ...(out.expected ? { expected: true } : {}) };
  } catch (err) {
    const e = O3mlError.from(err);
    return { status: "fail", ms: performance.now() - t0, notes: `${e.code}: ${e.message}`.replace(/\s+/g, " ") };
  }
}

/** Joins the cells of both targets into rows, in the order the s3 target ran them. */
export function toRows(checks: Record<TargetName, Array<{ check: Pick<WorkflowCheck, "workflow" | "layer" | "about">; cell: ParityCell }>>): ParityRow[] {
  const missing: ParityCell = { status: "fail", ms: 0, notes: "not run on this target (an earlier step failed)" };
  const names = [...new Set([...checks.s3, ...checks.o3].map((c) => c.check.workflow))];
  return names.map((workflow) => {
    const s3 = checks.s3.find((c) => c.check.workflow === workflow);
    const o3 = checks.o3.find((c) => c.check.workflow === workflow);
    const check = (s3 ?? o3)!.check;
    return { workflow, layer: check.layer, s3: s3?.cell ?? missing, o3: o3?.cell ?? missing, notes: check.about };
  });
}

/** Throws INTERNAL with `what` when `ok` is false: a check's assertion. */
export function expect(ok: boolean, what: string): asserts ok {
  if (!ok) throw new O3mlError("INTERNAL", what);
}

/** Cells that failed where they should not have: what makes the run exit non-zero. */
export function unexpectedFailures(rows: ParityRow[]): string[] {
  return rows.flatMap((r) => (["s3", "o3"] as const).filter((t) => r[t].status === "fail" && !r[t].expected).map((t) => `${r.workflow} on ${t}: ${r[t].notes}`));
}
