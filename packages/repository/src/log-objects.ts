import type { BlobStore } from "@o3ml/o3-client";
import { LOG_PREFIX } from "./layout.js";

/** Log objects read at once while listing: a rebuild is bound by round trips, not bytes (events are small). */
const READS_IN_FLIGHT = 16;

export interface LogObjectsOptions {
  /** Keys to leave out (already read). */
  skip?: (key: string) => boolean;
  /** Called with every key listed and not skipped, as it is listed. */
  onKey?: (key: string) => void;
  readsInFlight?: number;
}

/**
 * Every object under `o3ml/v1/log/` with its bytes, in key order, as
 * `rebuildIndex` reads them. An async generator: the listing starts when the
 * first object is asked for, which is what lets a rebuild that resets the
 * index first lose no event written meanwhile. Reads overlap (a decentralised
 * store answers each in tens of milliseconds) but are yielded in order.
 */
export async function* logObjects(store: BlobStore, opts: LogObjectsOptions = {}): AsyncGenerator<{ key: string; bytes: Uint8Array }> {
  const limit = opts.readsInFlight ?? READS_IN_FLIGHT;
  const pending: { key: string; bytes: Promise<Uint8Array> }[] = [];
  for await (const { key } of store.list(LOG_PREFIX)) {
    if (opts.skip?.(key)) continue;
    opts.onKey?.(key);
    const bytes = store.get(key);
    // Awaited in turn below; until then a failure must not count as unhandled.
    bytes.catch(() => undefined);
    pending.push({ key, bytes });
    if (pending.length >= limit) {
      const next = pending.shift()!;
      yield { key: next.key, bytes: await next.bytes };
    }
  }
  for (const next of pending) yield { key: next.key, bytes: await next.bytes };
}
