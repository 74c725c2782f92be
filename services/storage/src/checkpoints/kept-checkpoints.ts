import type { CheckpointRecord, MetadataIndex } from "@o3ml/metadata";

/** Checkpoints named in a refusal; the rest are counted. */
const NAMED_CHECKPOINTS = 5;

/** "<id> (run <run id>, step <n>), … and N more": the kept checkpoints a deletion was refused for. */
export function describeKept(kept: CheckpointRecord[]): string {
  const named = kept.slice(0, NAMED_CHECKPOINTS).map((c) => `${c.id} (run ${c.runId}, step ${c.step})`);
  const more = kept.length > NAMED_CHECKPOINTS ? ` and ${kept.length - NAMED_CHECKPOINTS} more` : "";
  return named.join(", ") + more;
}

/**
 * The kept (not deleted) checkpoints of runs other than `runId` that were
 * resumed from one of `ids`: deleting that parent would cut their lineage.
 * `o3ml runs rm` refuses while there are any; `o3ml ckpt prune` keeps their parents.
 */
export async function resumedFromElsewhere(index: MetadataIndex, runId: string, ids: ReadonlySet<string>): Promise<CheckpointRecord[]> {
  const kept = await index.listCheckpoints({ states: ["committed", "durable"] });
  return kept.filter((c) => c.runId !== runId && c.parentId !== null && ids.has(c.parentId));
}
