import { isO3mlError } from "@o3ml/errors";
import { eventIdFromKey } from "./event-writer.js";
import { decodeEvent } from "./events.js";
import type { MetadataEvent } from "./event-types.js";
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
   * Commit events left out because the ref they name never landed (a commit
   * stopped before its commit point, or whose ref is still being written).
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
   * reset and before the log is listed. Without it every commit event counts.
   */
  refs?: () => Promise<(refId: string) => boolean>;
}

/**
 * The commit order (services/storage/src/commit-order.ts): a commit's event
 * goes into the log, then its ref, and the ref is the commit point. A commit
 * event naming its ref (`refId`) therefore counts only when that ref is in
 * the bucket, or when a later deletion event of the same thing proves the
 * commit landed (deletions are recorded only for what an index held, and gc
 * removes a deleted thing's refs). Events older than `refId` were written
 * after their ref and always count.
 */
function committedBy(event: MetadataEvent): { refId: string; subject: string } | undefined {
  if (event.type === "checkpoint.committed" && event.data.refId) return { refId: event.data.refId, subject: `checkpoint ${event.data.checkpointId}` };
  if (event.type === "dataset.version.created" && event.data.refId) return { refId: event.data.refId, subject: `dataset-version ${event.data.manifestCid}` };
  return undefined;
}

function deletes(event: MetadataEvent): string | undefined {
  if (event.type === "checkpoint.deleted") return `checkpoint ${event.data.checkpointId}`;
  if (event.type === "dataset.version.deleted") return `dataset-version ${event.data.manifestCid}`;
  return undefined;
}

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
 * With `opts.refs`, a commit event whose ref is not in the bucket is left out
 * (see `committedBy`) and returned in `unlanded`. Its writer applies it
 * itself once the ref is written: after the reset, since the refs were
 * listed after the reset and did not include it.
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
  const landed = opts.refs ? await opts.refs() : () => true;
  const waiting = new Map<string, MetadataEvent[]>();
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
    if (commit && !landed(commit.refId)) {
      (waiting.get(commit.subject) ?? waiting.set(commit.subject, []).get(commit.subject)!).push(event);
      continue;
    }
    // A deletion follows its commit in id order; a dataset version's removes what is there when
    // it is applied, so the commit it proves goes in just before it.
    const deletion = deletes(event);
    if (deletion && waiting.has(deletion)) {
      batch.push(...waiting.get(deletion)!);
      waiting.delete(deletion);
    }
    batch.push(event);
    if (batch.length >= batchSize) await flush();
  }
  for (const events of waiting.values()) result.unlanded.push(...events);
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
