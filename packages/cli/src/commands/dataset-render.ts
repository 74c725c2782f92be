import type { PushSummary } from "@o3ml/datasets";
import type { VerifySummary } from "../dataset/verify-dataset.js";
import { formatBytes } from "../output.js";

/** Human renderings of the dataset commands' results (the --json forms are the objects themselves). */
export function renderPush(s: PushSummary): string {
  const splits = Object.entries(s.splits).map(([k, n]) => `${k || "all"} ${n}`).join(", ");
  return [
    `${s.name}@${s.version}  ${s.cid}`,
    `${s.samples} samples (${splits}) from ${s.sourceKind}${s.classes.length ? `, ${s.classes.length} classes` : ""}`,
    `${shardLine(s)}; ${s.shuffled ? `samples shuffled over the shards with seed ${s.seed}` : "samples in key order"}`,
    `uploaded ${formatBytes(s.bytesUploaded)} of ${formatBytes(s.bytesTotal)} in ${s.seconds}s (${s.mibPerSecond} MiB/s)`,
    ...s.warnings.map((w) => `warning: ${w}`),
  ].join("\n");
}

/**
 * Where each shard came from, every count once: the new ones split into those
 * sent and those the bucket already held (identical bytes pushed before), and
 * a parent named only when there is one.
 */
export function shardLine(s: Pick<PushSummary, "shards" | "shardsNew" | "shardsReused" | "shardsAlreadyStored" | "parentCid">): string {
  const parts = [`${s.shardsNew - s.shardsAlreadyStored} uploaded`];
  if (s.shardsAlreadyStored) parts.push(`${s.shardsAlreadyStored} already in the bucket`);
  if (s.parentCid) parts.push(`${s.shardsReused} reused from ${s.parentCid}`);
  return `${s.shards} shards: ${parts.join(", ")}`;
}

export function renderVersions(list: { name: string; latest: string; versions: { version: string; samples: number; bytes: number; shards: number; created: string }[] }[]): string {
  if (list.length === 0) return "(no datasets)";
  return list
    .flatMap((d) => d.versions.map((v) => `${v.created}  ${`${d.name}@${v.version}`.padEnd(40)} ${String(v.samples).padStart(9)} samples  ${formatBytes(v.bytes).padStart(10)}${v.version === d.latest ? "  (latest)" : ""}`))
    .join("\n");
}

export function renderVerify(s: VerifySummary): string {
  const head = `${s.name}@${s.version}: ${s.shardsOk} of ${s.shards} shards verified (${formatBytes(s.bytes)} re-read in ${s.seconds}s)`;
  return [head, ...s.failures.map((f) => `FAILED ${f.shard} (cid ${f.cid}): ${f.problem}`)].join("\n");
}
