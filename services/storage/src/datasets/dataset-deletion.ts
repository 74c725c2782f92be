import { O3mlError } from "@o3ml/errors";
import type { BlobStore } from "@o3ml/o3-client";
import { commitWithEvent, parseRefKey, DATASET_REF_KIND } from "@o3ml/repository";
import type { ServiceMetadata } from "../metadata/service-metadata.js";
import { type DatasetCatalog, type VersionInfo } from "./dataset-catalog.js";
import { describeKept } from "../checkpoints/kept-checkpoints.js";

/**
 * Deletes one dataset version in the commit order (commit-order.ts): the
 * `dataset.version.deleted` event naming the version's ref (`endsRefId`),
 * then the removal of that ref, the commit point (from then on no listing or
 * resolve finds it, and gc stops keeping its manifest), then the index drops
 * the version. A rebuild counts the event only once the ref is gone, so a
 * deletion that stops between the two leaves the version listed, resolvable
 * and kept; running it again finishes it. Shards another version names stay:
 * gc keeps every blob a live manifest names (gc/reachability.ts).
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
  const ref = key ? parseRefKey(DATASET_REF_KIND, key) : undefined;
  const data = { dataset: info.name, version: info.version, manifestCid: info.cid };
  // No ref left to remove (a deletion that removed it before its event was applied): the event alone.
  if (!key || !ref) {
    await metadata.record("dataset.version.deleted", data);
    return;
  }
  await commitWithEvent(metadata, `delete dataset ${info.name}@${info.version}`, "dataset.version.deleted", () => ({ ...data, endsRefId: ref.id }), async (beforeRef) => {
    await beforeRef(ref.id);
    await store.delete(key);
  });
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
