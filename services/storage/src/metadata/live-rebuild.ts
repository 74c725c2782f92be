import type { BlobStore } from "@o3ml/o3-client";
import { rebuildIndex, type IndexCounts, type MetadataIndex, type RebuildTarget } from "@o3ml/metadata";
import { eventKey, type MetadataEvent, landedRefs, logObjects } from "@o3ml/repository";

/** Warnings returned to the caller; a log full of junk must not make the answer unbounded. */
export const MAX_WARNINGS = 1000;

export interface LiveRebuildResult {
  /** Objects read from the log. */
  objects: number;
  /** Events that went into the new index. */
  applied: number;
  /** Malformed objects skipped. */
  skipped: number;
  /** Commit and deletion events left out: their ref change is not in the bucket (stopped before its commit point). */
  unlanded: number;
  /** Events stored while the log was read, applied after the new index replaced the old. */
  caughtUp: number;
  warnings: string[];
  warningsOmitted: number;
  counts: IndexCounts;
  durationMs: number;
  location: string;
}

/** Takes a rebuild's events without writing them anywhere, so they can replace the index in one go. */
class EventCollector implements RebuildTarget {
  readonly events: MetadataEvent[] = [];
  async reset(): Promise<void> {
    this.events.length = 0;
  }
  async applyAll(events: readonly MetadataEvent[]): Promise<number> {
    this.events.push(...events);
    return events.length;
  }
}

/**
 * Recreates a live index from the bucket's log while the service serves:
 *
 * 1. read and check every log object (`rebuildIndex`, into memory: events are
 *    a few hundred bytes each) while the old index keeps answering;
 * 2. replace the index's contents with those events in one transaction
 *    (`replaceAll`), so no reader ever sees a half-built index;
 * 3. list the log again and apply every event not read in step 1: events
 *    other writers stored meanwhile (on a shared PostgreSQL their rows may
 *    have been replaced in step 2). This listing starts after the
 *    replacement, and every writer stores an event in the log before it
 *    applies it, so nothing is lost. A commit or deletion event counts only
 *    once its ref change is in the bucket (`rebuildIndex` with `landedRefs`,
 *    commit-order.ts): one whose ref change was missing in step 1 is read
 *    again here, against refs listed after the replacement; a writer whose
 *    ref change lands later applies the event itself, after the replacement
 *    too.
 *
 * Events this service records meanwhile (`watch`) are added to step 2 and
 * applied again after step 3: its own writes never vanish, even briefly.
 * Applying is idempotent and order-independent, so repeats are harmless.
 */
export async function rebuildLiveIndex(
  index: MetadataIndex,
  store: BlobStore,
  watch: (fn: (event: MetadataEvent) => void) => () => void,
  warn: (message: string) => void,
): Promise<LiveRebuildResult> {
  const started = Date.now();
  const warnings: string[] = [];
  let warningsOmitted = 0;
  const note = (message: string) => {
    warn(message);
    if (warnings.length < MAX_WARNINGS) warnings.push(message);
    else warningsOmitted++;
  };
  const recorded: MetadataEvent[] = [];
  const unwatch = watch((event) => recorded.push(event));
  try {
    const seen = new Set<string>();
    const refs = () => landedRefs(store);
    const first = new EventCollector();
    const read = await rebuildIndex(first, logObjects(store, { onKey: (key) => seen.add(key) }), note, { refs });
    // A commit event whose ref had not landed is read again in step 3: its ref may have landed since.
    for (const e of read.unlanded) seen.delete(eventKey(e.id));
    const applied = await index.replaceAll([...first.events, ...recorded]);
    const late = new EventCollector();
    const reread = await rebuildIndex(late, logObjects(store, { skip: (key) => seen.has(key) }), note, { refs });
    const caughtUp = await index.applyAll([...late.events, ...recorded]);
    return {
      objects: read.objects + reread.objects,
      applied,
      skipped: read.skipped + reread.skipped,
      unlanded: reread.unlanded.length,
      caughtUp,
      warnings,
      warningsOmitted,
      counts: await index.counts(),
      durationMs: Date.now() - started,
      location: index.location,
    };
  } finally {
    unwatch();
  }
}
