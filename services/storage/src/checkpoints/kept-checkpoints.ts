import type { CheckpointRecord } from "@o3ml/metadata";

/** Checkpoints named in a refusal; the rest are counted. */
const NAMED_CHECKPOINTS = 5;

/** "<id> (run <run id>, step <n>), … and N more": the kept checkpoints a deletion was refused for. */
export function describeKept(kept: CheckpointRecord[]): string {
  const named = kept.slice(0, NAMED_CHECKPOINTS).map((c) => `${c.id} (run ${c.runId}, step ${c.step})`);
  const more = kept.length > NAMED_CHECKPOINTS ? ` and ${kept.length - NAMED_CHECKPOINTS} more` : "";
  return named.join(", ") + more;
}
