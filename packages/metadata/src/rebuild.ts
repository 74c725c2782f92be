import { isO3mlError } from "@o3ml/errors";
import { eventIdFromKey, decodeEvent, type LandedRefs, type MetadataEvent } from "@o3ml/repository";
import type { MetadataIndex } from "./metadata-index.js";

export interface RebuildResult {
  /** Objects read from the log. */
  objects: number;
  /** Events that changed the index. */
  applied: number;
  /** Events already applied (the same id seen again, e.g. applied by a live writer meanwhile). */
  duplicates: number;
  /** Objects skipped as malformed, each reported through `warn`. */
  skipped: number;
  /**
   * Commit and deletion events left out because their ref change never
   * landed (stopped before its commit point, or still being written).
   */
  unlanded: MetadataEvent[];
}

/** What a rebuild writes to: an index, or anything that takes its events the same way. */
export type RebuildTarget = Pick<MetadataIndex, "reset" | "applyAll">;

export interface RebuildOptions {
  /** Events applied per transaction; default 500. */
  batchSize?: number;
  /**
   * Which refs are in the bucket, by sortable id: asked once, after the
   * reset and before the log is listed. Without it every commit and deletion
   * event counts.
   */
  refs?: () => Promise<LandedRefs>;
}

/**
 * The commit order (packages/repository/src/commit-order.ts): a commit's or a
 * deletion's event goes into the log, then its ref changes, and the ref
 * change is the commit point.
 *
 * A commit event naming its ref (`refId`) counts only when that ref is in
 * the bucket, or when a counted deletion event of the same thing proves the
 * commit landed (gc removes a deleted thing's refs).
 *
 * A deletion event naming the ref it ends (`endsRefId`) counts only once
 * that ref is no longer a value: superseded by a later ref of its key (the
 * tombstone, or any value written since) or gone from the bucket. gc removes
 * an object's ref only once a later ref supersedes it and a dataset
 * version's ref never, so a counted deletion stays counted after gc, and one
 * stopped before its ref change (the ref still the value) does not count.
 *
 * Events without these fields (older ones, a deletion that changes no ref)
 * were written after their ref change, or have none, and always count.
 */
function committedBy(event: MetadataEvent): { refId: string; subject: string } | undefined {
  if (event.type === "checkpoint.committed" && event.data.refId) return { refId: event.data.refId, subject: `checkpoint ${event.data.checkpointId}` };
  if (event.type === "dataset.version.created" && event.data.refId) return { refId: event.data.refId, subject: `dataset-version ${event.data.manifestCid}` };
  return undefined;
}

function deletes(event: MetadataEvent): { endsRefId: string | null; subject: string } | undefined {
  if (event.type === "checkpoint.deleted") return { endsRefId: event.data.endsRefId, subject: `checkpoint ${event.data.checkpointId}` };
  if (event.type === "dataset.version.deleted") return { endsRefId: event.data.endsRefId, subject: `dataset-version ${event.data.manifestCid}` };
  return undefined;
}

const EVERY_REF: LandedRefs = { has: () => true, current: () => false };

/**
 * Recreates the index from the bucket's log: empties it, then applies every
 * event object in `objects` (the listing of `o3ml/v1/log/`, in key order).
 *
 * A malformed object (not an event key, not MessagePack, wrong shape, an id
 * that disagrees with its key) is skipped with a warning naming its key; the
 * rebuild goes on. An object in a newer event format stops the rebuild with
 * FAILED_PRECONDITION: an older o3ml skipping it would silently build an
 * incomplete index.
 *
 * `objects` must start listing only when first read (an async generator
 * does), i.e. after the reset: then a service writing meanwhile loses
 * nothing, since it stores each event in the log before applying it here.
 *
 * With `opts.refs`, a commit event whose ref is not in the bucket, and a
 * deletion event whose ref is still the value, are left out (see
 * `committedBy`) and returned in `unlanded`. Their writer applies each itself
 * once its ref change is done: after the reset, since the refs were listed
 * after the reset and did not show that change.
 */
export async function rebuildIndex(
  index: RebuildTarget,
  objects: AsyncIterable<{ key: string; bytes: Uint8Array }>,
  warn: (message: string) => void,
  opts: RebuildOptions = {},
): Promise<RebuildResult> {
  const batchSize = opts.batchSize ?? 500;
  const result: RebuildResult = { objects: 0, applied: 0, duplicates: 0, skipped: 0, unlanded: [] };
  await index.reset();
  const refs = opts.refs ? await opts.refs() : EVERY_REF;
  const waiting = new Map<string, MetadataEvent[]>();
  const unlandedDeletions: MetadataEvent[] = [];
  let batch: MetadataEvent[] = [];
  const flush = async () => {
    const fresh = await index.applyAll(batch);
    result.applied += fresh;
    result.duplicates += batch.length - fresh;
    batch = [];
  };
  for await (const { key, bytes } of objects) {
    result.objects++;
    const event = readEvent(key, bytes, (message) => {
      result.skipped++;
      warn(message);
    });
    if (!event) continue;
    const commit = committedBy(event);
    if (commit && !refs.has(commit.refId)) {
      (waiting.get(commit.subject) ?? waiting.set(commit.subject, []).get(commit.subject)!).push(event);
      continue;
    }
    const deletion = deletes(event);
    if (deletion?.endsRefId && refs.current(deletion.endsRefId)) {
      unlandedDeletions.push(event);
      continue;
    }
    // A deletion follows its commit in id order; a dataset version's removes what is there when
    // it is applied, so the commit it proves goes in just before it.
    if (deletion && waiting.has(deletion.subject)) {
      batch.push(...waiting.get(deletion.subject)!);
      waiting.delete(deletion.subject);
    }
    batch.push(event);
    if (batch.length >= batchSize) await flush();
  }
  for (const events of waiting.values()) result.unlanded.push(...events);
  result.unlanded.push(...unlandedDeletions);
  await flush();
  return result;
}

function readEvent(key: string, bytes: Uint8Array, skip: (message: string) => void): MetadataEvent | undefined {
  const idFromKey = eventIdFromKey(key);
  if (!idFromKey) {
    skip(`skipping ${key}: not an event object (expected o3ml/v1/log/<event id>)`);
    return undefined;
  }
  let event: MetadataEvent;
  try {
    event = decodeEvent(bytes, key);
  } catch (err) {
    if (isO3mlError(err, "INVALID_ARGUMENT")) {
      skip(`skipping ${err.message}`);
      return undefined;
    }
    throw err;
  }
  if (event.id !== idFromKey) {
    skip(`skipping ${key}: it holds event ${event.id}, not the event its key names`);
    return undefined;
  }
  return event;
}
