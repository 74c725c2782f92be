/**
 * The workflows the summary and the coverage table group cells by, and
 * which sides each target is expected to show in each. The Python names are
 * those the harness writes (objects_cells.py, checkpoint_cells.py,
 * epoch_cells.py; report.test.ts checks they agree), so that a harness that
 * dies still leaves every peer it owed a red cell rather than a gap.
 */
import { SDK_PEER } from "./object-bench.js";
import type { PythonPlan } from "./python-harness.js";
import type { Expected } from "./summary.js";

export const TS_OBJECTS = "objects (TypeScript)";
export const WAN_OBJECTS = "objects via WAN (TypeScript)";
export const PY_OBJECTS = "objects (Python)";
export const CKPT_SAVE = "checkpoint save";
export const CKPT_RESTORE = "checkpoint restore";
export const CKPT_RESAVE = "checkpoint re-save unchanged";
export const ASYNC_SAVE = "async save: loop blocked";
export const EPOCH_COLD = "dataset epoch, cold";
export const EPOCH_WARM = "dataset epoch, warm";

export function pythonWorkflows(p: PythonPlan): string[] {
  const out: string[] = [];
  if (p.objects) out.push(PY_OBJECTS);
  if (p.checkpoints) {
    out.push(CKPT_SAVE, CKPT_RESTORE);
    if (p.checkpoints.dedup.length) out.push(CKPT_RESAVE);
    if (p.checkpoints.async.length) out.push(ASYNC_SAVE);
  }
  if (p.epoch) out.push(EPOCH_COLD, EPOCH_WARM);
  return out;
}

/** Every target's workflows and the sides expected in each; `wanTarget` when the WAN phase was due. */
export function expectedCoverage(targets: string[], python: PythonPlan, wanTarget: string | undefined): Expected {
  const out: Expected = {};
  for (const t of targets) {
    out[t] = [{ workflow: TS_OBJECTS, peers: ["o3ml", SDK_PEER] }, ...pythonWorkflows(python).map((workflow) => ({ workflow, peers: python.peers }))];
  }
  if (wanTarget) out[wanTarget] = [{ workflow: WAN_OBJECTS, peers: ["o3ml", SDK_PEER] }];
  return out;
}
