import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import type { EventInput, EventOf, EventType } from "@o3ml/metadata";
import { parseRefKey, ROOT } from "./layout.js";
import type { ServiceMetadata } from "./metadata/service-metadata.js";

/**
 * The one commit order of everything o3ml commits: an object put or copy
 * (object-repository.ts), a checkpoint save (checkpoints/checkpoint-save.ts),
 * a dataset version (datasets/dataset-repository.ts):
 *
 *   1. blobs     o3ml/v1/blobs/<cid>                every chunk, verified
 *   2. manifest  o3ml/v1/manifests/<cid>            names every blob
 *   3. event     o3ml/v1/log/<event id>             `checkpoint.committed` or
 *                `dataset.version.created`, naming the ref's sortable id
 *                (`refId`); an object put has no event
 *   4. ref       o3ml/v1/refs/<kind>/<name>/@<refId>  THE COMMIT POINT
 *
 * then the event is applied to the index. Why:
 *
 * - The ref is the commit point: readers reach data only through refs, so a
 *   commit stopped anywhere before its ref leaves nothing visible, and one
 *   stopped after it is committed.
 * - The event goes before the ref so that the log, from which the index is
 *   rebuilt, never misses anything a ref makes visible.
 * - An event may therefore exist without its ref, and alone it is nothing:
 *   the index is given it only after the ref (`commitWithEvent`), `o3ml index
 *   rebuild` counts it only when its ref is in the bucket or a later deletion
 *   event proves it was committed (`landedRefs`, and `rebuildIndex` in
 *   packages/metadata/src/rebuild.ts), and gc keeps a
 *   commit's manifest and blobs only while a ref reaches them
 *   (gc/reachability.ts), so those of a commit stopped before its ref are
 *   reclaimed after the grace period.
 * - gc's check of the commit (`BlobLease.confirm`, known-blobs.ts) comes
 *   right before the event, so a commit it refuses leaves no event, and the
 *   ref follows the event at once, well within gc's fence.
 *
 * A deletion also writes its event first, then changes the refs:
 * `checkpoint.deleted` (the listener in checkpoints/register.ts), then the
 * tombstone ref (ObjectRepository.delete); `dataset.version.deleted`, then
 * the removal of the version's ref (datasets/dataset-deletion.ts). There the
 * event alone counts (the index, and a rebuild, drop the value at once); a
 * deletion stopped between the two leaves the value readable, and repeating
 * the deletion finishes it.
 */
export async function commitWithEvent<T extends EventType, R>(
  metadata: ServiceMetadata,
  what: string,
  type: T,
  data: (refId: string) => EventInput<T>,
  writeRef: (beforeRef: (refId: string) => Promise<void>) => Promise<R>,
): Promise<{ ref: R; event: EventOf<T> }> {
  let event: EventOf<T> | undefined;
  const ref = await writeRef(async (refId) => {
    event = await metadata.append(type, data(refId)).catch((err: unknown) => {
      const e = O3mlError.from(err);
      throw new O3mlError(e.code, `${what}: its ${type} event could not be written to the bucket's log (${e.message}); no ref was written, so nothing was committed — try again`, e.details);
    });
  });
  if (!event) throw new O3mlError("INTERNAL", `${what}: a ref was written without its ${type} event`);
  await metadata.publish(event).catch((err: unknown) => {
    const e = O3mlError.from(err);
    throw new O3mlError(
      e.code,
      `${what}: committed (its event and ref are in the bucket), but the metadata index could not take it (${e.message}); listings show it after 'o3ml index rebuild'`,
      e.details,
    );
  });
  return { ref, event };
}

/**
 * Which refs are in the bucket, by sortable id, for `rebuildIndex`: one
 * listing of o3ml/v1/refs/ (no ref is read).
 */
export async function landedRefs(store: BlobStore): Promise<(refId: string) => boolean> {
  const root = `${ROOT}refs/`;
  const ids = new Set<string>();
  for await (const o of store.list(root)) {
    const ref = parseRefKey(o.key.slice(root.length).split("/")[0]!, o.key);
    if (ref) ids.add(ref.id);
  }
  return (refId) => ids.has(refId);
}
