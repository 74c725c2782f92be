import { O3mlError } from "@o3ml/errors";
import type { CheckpointJson } from "./checkpoint-json.js";
import { renderTable } from "../output.js";

/** Fields `o3ml ckpt ls --sort` knows besides metric names. */
const FIELDS = ["step", "epoch", "created"] as const;

/**
 * Checkpoints ordered by `field` (step, epoch, created, or a recorded metric
 * such as val_loss), ascending unless `descending`; ties keep commit order.
 * Checkpoints that do not record the metric come last. A metric no listed
 * checkpoint records is an error naming the metrics that are recorded, so a
 * typo never passes for an unsorted list.
 */
export function sortCheckpoints(all: CheckpointJson[], field: string, descending: boolean): CheckpointJson[] {
  const isField = (FIELDS as readonly string[]).includes(field);
  if (!isField && all.length > 0 && !all.some((c) => field in c.metrics)) {
    const recorded = [...new Set(all.flatMap((c) => Object.keys(c.metrics)))].sort();
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `no listed checkpoint records metric ${JSON.stringify(field)}; sort by ${[...FIELDS, ...recorded].join(", ")}`,
    );
  }
  const value = (c: CheckpointJson): number | undefined =>
    field === "created" ? Date.parse(c.created) : field === "step" ? c.step : field === "epoch" ? c.epoch : c.metrics[field];
  const sign = descending ? -1 : 1;
  return all
    .map((c, i) => ({ c, i, v: value(c) }))
    .sort((a, b) => {
      const missingA = a.v === undefined || Number.isNaN(a.v);
      const missingB = b.v === undefined || Number.isNaN(b.v);
      if (missingA || missingB) return missingA === missingB ? a.i - b.i : missingA ? 1 : -1;
      return sign * (a.v! - b.v!) || a.i - b.i;
    })
    .map((x) => x.c);
}

/** The sorted listing with the sort metric as its first column, then names (as renderList) before ids. */
export function renderSorted(all: CheckpointJson[], metric: string, runName: (run: string) => string): string {
  if (all.length === 0) return "(no checkpoints)";
  const rows = all.map((c) => [metric in c.metrics ? String(c.metrics[metric]) : "-", runName(c.run), String(c.step), String(c.epoch), c.created.slice(0, 19), c.key, c.id]);
  return renderTable([metric, "run", "step", "epoch", "created", "key", "id"], rows);
}

export function isMetricSort(field: string): boolean {
  return !(FIELDS as readonly string[]).includes(field);
}
