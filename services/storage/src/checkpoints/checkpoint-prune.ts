import { O3mlError } from "@o3ml/errors";
import type { o3ml } from "@o3ml/proto";
import { deleteCheckpoint } from "./checkpoint-deletion.js";
import type { CheckpointInfo } from "./checkpoint-info.js";
import type { CheckpointPins } from "./checkpoint-pins.js";
import type { CheckpointDeps } from "./checkpoint-save.js";
import { resumedFromElsewhere } from "./kept-checkpoints.js";
import { checkRules, reasonsToKeep, type RetentionRules } from "./retention.js";

export interface PruneResult {
  run: string;
  dryRun: boolean;
  checkpoints: { info: CheckpointInfo; removed: boolean; reasons: string[] }[];
}

/** The rules of a PruneRequest, checked. */
export function rulesOf(req: o3ml.v1.PruneRequest.$Properties): RetentionRules {
  const rules: RetentionRules = {
    keepLast: Number(req.keepLast ?? 0),
    keepBest: (req.keepBest ?? []).map((b) => ({ count: Number(b.count ?? 0), metric: b.metric ?? "", mode: (b.mode ?? "") as "min" | "max" })),
    keepEvery: req.keepEvery ? { every: Number(req.keepEvery.every ?? 0), unit: (req.keepEvery.unit ?? "") as "step" | "epoch" } : undefined,
    keepWithin: req.keepWithin ? req.keepWithin : undefined,
  };
  checkRules(rules);
  return rules;
}

/**
 * Prunes one run (`o3ml ckpt prune`): decides with retention.ts what stays,
 * then deletes the rest one by one as `o3ml rm` would. `listed` is the run's
 * checkpoints not deleted yet, in commit order (CheckpointRepository.list).
 */
export async function pruneCheckpoints(d: CheckpointDeps, pins: CheckpointPins, run: string, listed: CheckpointInfo[], rules: RetentionRules, dryRun: boolean): Promise<PruneResult> {
  if (listed.length === 0) {
    throw new O3mlError("NOT_FOUND", `prune: run ${JSON.stringify(run)} has no checkpoints that are not deleted; see 'o3ml ckpt ls' and 'o3ml runs ls' for the runs there are`, { run });
  }
  const runId = listed[0]!.run;
  const index = d.metadata.index;
  const resumedBy = new Map<string, string[]>();
  for (const child of await resumedFromElsewhere(index, runId, new Set(listed.map((c) => c.cid)))) {
    const name = (await index.getRun(child.runId).catch(() => undefined))?.name ?? child.runId;
    const runs = resumedBy.get(child.parentId!) ?? resumedBy.set(child.parentId!, []).get(child.parentId!)!;
    if (!runs.includes(name)) runs.push(name);
  }
  const reasons = reasonsToKeep(listed, rules, { pinned: await pins.pinned(), resumedBy, nowMs: Date.now() });
  const checkpoints = listed.map((info) => ({ info, reasons: reasons.get(info.cid)!, removed: reasons.get(info.cid)!.length === 0 }));
  if (!dryRun) {
    for (const c of checkpoints) {
      if (!c.removed) continue;
      await deleteCheckpoint(d.metadata, d.objects, { id: c.info.cid, manifestCid: c.info.cid });
      c.info = { ...c.info, state: "deleted" };
    }
  }
  return { run: runId, dryRun, checkpoints };
}
