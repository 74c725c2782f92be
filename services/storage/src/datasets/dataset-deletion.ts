import { O3mlError } from "@o3ml/errors";
import type { BlobStore } from "@o3ml/o3-client";
import type { ServiceMetadata } from "../metadata/service-metadata.js";
import type { DatasetCatalog, VersionInfo } from "./dataset-catalog.js";
import { describeKept } from "../checkpoints/kept-checkpoints.js";

/**
 * Deletes one dataset version the way a commit writes it, in reverse: the
 * `dataset.version.deleted` event first (so the index, and any rebuild of it
 * from the log, drops the version), then the version's ref (so no listing or
 * resolve finds it, and gc stops keeping its manifest: commit-order.ts). A deletion that stops
 * between the two leaves the version listed and kept; running it again
 * finishes it. Shards another version names stay: gc keeps every blob a live
 * manifest names (gc/reachability.ts).
 */
export async function deleteDatasetVersion(
  store: BlobStore,
  catalog: DatasetCatalog,
  metadata: ServiceMetadata,
  info: VersionInfo,
  force: boolean,
): Promise<void> {
  if (!force) await refuseWhileKept(metadata, info);
  const key = await catalog.refKeyOf(info.name, info.cid);
  await metadata.record("dataset.version.deleted", { dataset: info.name, version: info.version, manifestCid: info.cid });
  if (key) await store.delete(key);
}

/** A checkpoint that is kept and says it was trained on this version would lose what it names. */
async function refuseWhileKept(metadata: ServiceMetadata, info: VersionInfo): Promise<void> {
  const kept = (await metadata.index.listCheckpoints({ states: ["committed", "durable"] })).filter((c) => c.datasetVersionCid === info.cid);
  if (kept.length === 0) return;
  throw new O3mlError(
    "FAILED_PRECONDITION",
    `dataset ${info.name}@${info.version} was not deleted: ${kept.length} kept checkpoint(s) were trained on it: ${describeKept(kept)}; delete those checkpoints first, or pass --force (force=True) to delete the version anyway`,
    { name: info.name, version: info.version, checkpoints: kept.length },
  );
}
