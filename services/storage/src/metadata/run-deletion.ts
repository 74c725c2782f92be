import { O3mlError } from "@o3ml/errors";
import type { CheckpointRecord, RunRecord } from "@o3ml/metadata";
import type { ObjectRepository } from "../object-repository.js";
import type { ServiceMetadata } from "./service-metadata.js";
import { deleteCheckpoint } from "../checkpoints/checkpoint-deletion.js";
import { describeKept, resumedFromElsewhere } from "../checkpoints/kept-checkpoints.js";

/**
 * Deletes a run: each of its checkpoints not deleted yet the way `o3ml rm`
 * deletes one (checkpoints/checkpoint-deletion.ts), then `run.deleted`.
 * Every step is an event or ref in the bucket, so a rebuilt index agrees and
 * gc reclaims what only these checkpoints named. A deletion that stops
 * midway leaves the run listed with fewer checkpoints; running it again
 * finishes it.
 */
export async function deleteRun(
  metadata: ServiceMetadata,
  objects: Pick<ObjectRepository, "delete" | "resolve" | "manifests">,
  idOrName: string,
  force: boolean,
): Promise<{ run: RunRecord; checkpointIds: string[] }> {
  const index = metadata.index;
  const run = await index.getRun(idOrName);
  const own = await index.listCheckpoints({ run: run.id, states: ["committed", "durable"] });
  if (!force) await refuseWhileResumedFrom(metadata, run, own);
  for (const c of own) await deleteCheckpoint(metadata, objects, c);
  await metadata.record("run.deleted", { runId: run.id });
  return { run, checkpointIds: own.map((c) => c.id) };
}

/** A kept checkpoint of another run whose parent is one of this run's would lose its parent. */
async function refuseWhileResumedFrom(metadata: ServiceMetadata, run: RunRecord, own: CheckpointRecord[]): Promise<void> {
  const kept = await resumedFromElsewhere(metadata.index, run.id, new Set(own.map((c) => c.id)));
  if (kept.length === 0) return;
  throw new O3mlError(
    "FAILED_PRECONDITION",
    `run ${run.name} (${run.id}) was not deleted: ${kept.length} kept checkpoint(s) of other runs were resumed from its checkpoints: ${describeKept(kept)}; delete those first, or pass --force (force=True) to delete the run anyway`,
    { run: run.id, checkpoints: kept.length },
  );
}
