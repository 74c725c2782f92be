import type { ObjectRepository } from "../object-repository.js";
import type { ServiceMetadata } from "../metadata/service-metadata.js";

/**
 * Deletes one checkpoint the way `o3ml rm` deletes its key: a deletion ref at
 * its key, preceded by `checkpoint.deleted` (the listener in
 * checkpoints/register.ts; the tombstone is the commit point:
 * commit-order.ts), or, when the key has been overwritten since and holds
 * another object, only the `checkpoint.deleted` event, which then names no
 * ref. Both are in the bucket, so a rebuilt index agrees, and gc reclaims
 * what only it named. Safe to run again after a failure midway.
 */
export async function deleteCheckpoint(
  metadata: ServiceMetadata,
  objects: Pick<ObjectRepository, "delete" | "resolve" | "manifests">,
  checkpoint: { id: string; manifestCid: string },
): Promise<void> {
  const key = (await objects.manifests.read(checkpoint.manifestCid).catch(() => undefined))?.checkpoint?.key;
  const current = key ? await objects.resolve(key).catch(() => undefined) : undefined;
  // Only the key's current value is deleted: a key overwritten since holds another object.
  if (key && current?.ref.manifestCid === checkpoint.manifestCid) await objects.delete(key);
  if ((await metadata.index.getCheckpoint(checkpoint.id)).state !== "deleted") await metadata.record("checkpoint.deleted", { checkpointId: checkpoint.id });
}
