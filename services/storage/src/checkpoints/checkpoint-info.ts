import { checkpointBytes, entryRanges, type CheckpointFacts, type CheckpointTable, type ObjectManifest } from "@o3ml/integrity";
import type { CheckpointRecord, MetadataIndex } from "@o3ml/metadata";
import type { CheckpointState, ChunkSpan } from "@o3ml/repository";
import { isO3mlError } from "@o3ml/errors";

/** What CheckpointInfo says about one checkpoint (field names as on the wire). */
export interface CheckpointInfo extends CheckpointFacts {
  cid: string;
  state: CheckpointState;
  bytesTotal: number;
  bytesUploaded: number;
  bytesDeduplicated: number;
  createdUnixMs: number;
  entryCount: number;
}

/** A manifest that is known to carry a checkpoint table. */
export type CheckpointManifest = ObjectManifest & { checkpoint: CheckpointTable };

/** The chunk spans holding bytes [from, to) of entry `entry` of the table (a range of its pack, or of its own chunks). */
export function entrySpans(m: CheckpointManifest, entry: number, from?: number, to?: number): ChunkSpan[] {
  return entryRanges(m.checkpoint.entries[entry]!, m.chunks, from, to).map((r) => ({ ...m.chunks[r.chunk]!, from: r.from, to: r.to }));
}

/**
 * The chunk spans holding bytes [from, to) of the checkpoint as an object: its entries' bytes in
 * table order (ObjectService.Get), whatever blobs hold them (a pack shared by several entries).
 */
export function objectSpans(m: CheckpointManifest, from: number, to: number): ChunkSpan[] {
  const out: ChunkSpan[] = [];
  let pos = 0;
  for (const [i, e] of m.checkpoint.entries.entries()) {
    const end = pos + e.nbytes;
    if (end > from && pos < to) out.push(...entrySpans(m, i, Math.max(0, from - pos), Math.min(e.nbytes, to - pos)));
    if (end >= to) break;
    pos = end;
  }
  return out;
}

/** Every entry's spans, in table order: what a read of the whole checkpoint fetches. */
export function allEntrySpans(m: CheckpointManifest): ChunkSpan[][] {
  return m.checkpoint.entries.map((_, i) => entrySpans(m, i));
}

/**
 * The info of checkpoint `cid`: what it is from its manifest (the record of
 * truth), its life so far and upload figures from the metadata index. Without
 * an index record (an index not yet rebuilt) it still answers, as committed,
 * with upload figures of 0 and `createdUnixMs` from the ref when known.
 */
export function checkpointInfo(cid: string, m: CheckpointManifest, record: CheckpointRecord | undefined, refCreatedUnixMs = 0): CheckpointInfo {
  const { entries, ...facts } = m.checkpoint;
  return {
    ...facts,
    cid,
    metrics: { ...facts.metrics },
    state: record?.state ?? "committed",
    bytesTotal: checkpointBytes(m.checkpoint),
    bytesUploaded: record?.bytesUploaded ?? 0,
    bytesDeduplicated: record?.bytesDeduplicated ?? 0,
    createdUnixMs: record ? Date.parse(record.committedAt) : refCreatedUnixMs,
    entryCount: entries.length,
  };
}

/** The index's record of checkpoint `id`, or undefined when the index does not know it. */
export async function findRecord(index: MetadataIndex, id: string): Promise<CheckpointRecord | undefined> {
  try {
    return await index.getCheckpoint(id);
  } catch (err) {
    if (isO3mlError(err, "NOT_FOUND")) return undefined;
    throw err;
  }
}

/**
 * Checkpoints of `run` (a run id, or a run name the index knows), in commit
 * order. Checkpoints name their run by id even when no `run.created` event
 * introduced it, so an id the index has no run for is matched directly.
 */
export async function recordsOfRun(index: MetadataIndex, run: string | undefined, states?: CheckpointState[]): Promise<CheckpointRecord[]> {
  if (run === undefined) return index.listCheckpoints({ states });
  try {
    return await index.listCheckpoints({ run, states });
  } catch (err) {
    if (!isO3mlError(err, "NOT_FOUND")) throw err;
    return (await index.listCheckpoints({ states })).filter((r) => r.runId === run);
  }
}

/** Where a run resumes from: its most recently committed checkpoint that is not deleted. */
export async function latestOfRun(index: MetadataIndex, run: string): Promise<CheckpointRecord | undefined> {
  try {
    return await index.latestCommittedCheckpoint(run);
  } catch (err) {
    if (!isO3mlError(err, "NOT_FOUND")) throw err;
    const live = await recordsOfRun(index, run, ["committed", "durable"]);
    return live[live.length - 1];
  }
}
