import { isEventId } from "./event-id.js";
import type { MetadataEvent } from "./event-types.js";
import { LOG_PREFIX } from "./layout.js";

/** The event id a log key names, or undefined for a key that is not an event object. */
export function eventIdFromKey(key: string): string | undefined {
  if (!key.startsWith(LOG_PREFIX)) return undefined;
  const id = key.slice(LOG_PREFIX.length);
  return isEventId(id) ? id : undefined;
}

/**
 * The append-only log of metadata events, implemented by callers over the
 * bucket: `append` writes `encodeEvent(event)` to `eventKey(event.id)` once
 * and never overwrites it. It must resolve only when the object is stored
 * (acknowledged by the store), and may be retried freely: the same event
 * written twice is the same object, and applying it twice is a no-op.
 *
 * A commit writes its event before its ref and applies the event to the
 * index only after the ref (packages/repository/src/commit-order.ts states the
 * order and why); `rebuildIndex` counts a commit event only when its ref is
 * in the bucket.
 */
export interface EventLog {
  append(event: MetadataEvent): Promise<void>;
}

/** Anything that takes events: the index (`MetadataIndex`) satisfies it. */
export interface EventSink {
  apply(event: MetadataEvent): Promise<boolean>;
}

/**
 * Records an event the way every writer must: first in the bucket's log (the
 * record of truth), then in the index. If the index write fails the event is
 * still recorded; the next rebuild, or a retry of this call, applies it.
 */
export async function recordEvent(log: EventLog, index: EventSink, event: MetadataEvent): Promise<void> {
  await log.append(event);
  await index.apply(event);
}
