import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import type { EventInput, EventOf, EventType, MetadataEvent } from "./event-types.js";
import { DATASET_REF_KIND, parseRefKey, REFS_PREFIX } from "./layout.js";

/**
 * Where a commit's event is recorded: `append` writes it to the bucket's
 * log, `publish` applies it to the index (the service's ServiceMetadata).
 * Passed in, so that the commit order does not depend on the index.
 */
export interface CommitEvents {
  append<T extends EventType>(type: T, data: EventInput<T>): Promise<EventOf<T>>;
  publish(event: MetadataEvent): Promise<void>;
}

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
 *   rebuild` counts it only when its ref is in the bucket or a counted
 *   deletion event proves it was committed (`landedRefs`, and `rebuildIndex`
 *   in packages/metadata/src/rebuild.ts), and gc keeps a
 *   commit's manifest and blobs only while a ref reaches them
 *   (gc/reachability.ts), so those of a commit stopped before its ref are
 *   reclaimed after the grace period.
 * - gc's check of the commit (`BlobLease.confirm`, known-blobs.ts) comes
 *   right before the event, so a commit it refuses leaves no event, and the
 *   ref follows the event at once, well within gc's fence.
 *
 * A deletion keeps the same order, its ref change being its commit point:
 *
 *   - a checkpoint (`o3ml rm` of its key, `o3ml ckpt prune`, `o3ml runs rm`):
 *     `checkpoint.deleted`, naming the ref at the key it ends (`endsRefId`;
 *     the listener in checkpoints/register.ts), then the tombstone ref that
 *     supersedes it (ObjectRepository.delete);
 *   - a dataset version (`o3ml dataset rm`): `dataset.version.deleted`,
 *     naming the version's ref (`endsRefId`), then the removal of that ref
 *     (datasets/dataset-deletion.ts);
 *
 * then the index takes the event (`commitWithEvent`). A rebuild counts a
 * deletion event only once the ref it ends is no longer a value: superseded
 * by a later ref of its key, or gone. That holds after gc too: gc removes an
 * object's ref only once a later ref supersedes it, and a tombstone only after
 * every older ref of its key, and it never removes a dataset version's ref.
 * So a deletion stopped before its ref change leaves the value readable and
 * listed, before and after a rebuild, and repeating it finishes it; a
 * deleted checkpoint stays listed as deleted (lineage keeps it) after gc has
 * removed its refs. A checkpoint overwritten at its key is recorded deleted
 * after the new ref, which already ended it, and a deletion that changes no
 * ref (the key holds another value already) names none: such events, and
 * those written before `endsRefId` existed, always count.
 */
export async function commitWithEvent<T extends EventType, R>(
  metadata: CommitEvents,
  what: string,
  type: T,
  data: (refId: string) => EventInput<T>,
  writeRef: (beforeRef: (refId: string) => Promise<void>) => Promise<R>,
): Promise<{ ref: R; event: EventOf<T> }> {
  let event: EventOf<T> | undefined;
  const ref = await writeRef(async (refId) => {
    event = await metadata.append(type, data(refId)).catch((err: unknown) => {
      const e = O3mlError.from(err);
      throw new O3mlError(e.code, `${what}: its ${type} event could not be written to the bucket's log (${e.message}); no ref was changed, so nothing was done — try again`, e.details);
    });
  });
  if (!event) throw new O3mlError("INTERNAL", `${what}: a ref was changed without its ${type} event`);
  await metadata.publish(event).catch((err: unknown) => {
    const e = O3mlError.from(err);
    throw new O3mlError(
      e.code,
      `${what}: done (its event and its ref change are in the bucket), but the metadata index could not take it (${e.message}); listings show it after 'o3ml index rebuild'`,
      e.details,
    );
  });
  return { ref, event };
}

/** The refs in the bucket, by sortable id, as a rebuild needs them (`rebuildIndex` in @o3ml/metadata). */
export interface LandedRefs {
  /** Whether the ref is in the bucket. */
  has(refId: string): boolean;
  /**
   * Whether the ref is in the bucket and still a value: no later ref of its
   * name supersedes it (each dataset version's ref is a value of its own).
   */
  current(refId: string): boolean;
}

/**
 * Which refs are in the bucket, by sortable id, and which of them are still
 * a value (an object key's newest ref; every dataset version's ref), for
 * `rebuildIndex`: one listing of o3ml/v1/refs/ (no ref is read).
 */
export async function landedRefs(store: BlobStore): Promise<LandedRefs> {
  const root = REFS_PREFIX;
  const ids = new Set<string>();
  const newest = new Map<string, string>();
  for await (const o of store.list(root)) {
    const kind = o.key.slice(root.length).split("/")[0]!;
    const ref = parseRefKey(kind, o.key);
    if (!ref) continue;
    ids.add(ref.id);
    const name = `${kind}/${ref.name}`;
    if (kind === DATASET_REF_KIND) newest.set(`${name}/@${ref.id}`, ref.id);
    else if ((newest.get(name) ?? "") < ref.id) newest.set(name, ref.id);
  }
  const values = new Set(newest.values());
  return { has: (refId) => ids.has(refId), current: (refId) => values.has(refId) };
}
