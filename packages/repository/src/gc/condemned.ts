import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError, isO3mlError } from "@o3ml/errors";
import { ulid } from "ulidx";
import { GC_CONDEMNED_PREFIX, gcCondemnedKey } from "../layout.js";
import type { BucketNow } from "./bucket-clock.js";

/** Where gc reports what it removes: the service's logger. */
export interface GcLog {
  warn(fields: object, message: string): void;
}

const FORMAT = 1;

/**
 * A collection deletes nothing once this long has passed (on its own clock)
 * since it wrote its condemned list: the rest waits for the next collection.
 */
export const SWEEP_LIMIT_MS = 20 * 60_000;

/**
 * A condemned list older than this on the bucket's clock belongs to a
 * collection that stopped deleting long ago (SWEEP_LIMIT_MS, with a margin
 * for the skew between clocks) or died: the next collection removes it, so a
 * dead collection does not keep commits that reuse its keys failing for ever.
 */
export const CONDEMNED_TTL_MS = 30 * 60_000;

/**
 * The keys one collection is about to delete, written to the bucket
 * (GC_CONDEMNED_PREFIX/<id>) before its fence. A commit that counts on any
 * of them (reused or uploaded) fails instead of writing its ref (see
 * KnownBlobs' BlobLease.confirm), whichever service runs the collection.
 */
export interface Condemned {
  readonly key: string;
  /** Called after the collection's last deletion and the new gc epoch that follows it. */
  remove(): Promise<void>;
}

export async function condemn(store: BlobStore, keys: string[]): Promise<Condemned> {
  const key = gcCondemnedKey(ulid());
  await store.put(key, Buffer.from(JSON.stringify({ format: FORMAT, keys }), "utf8"), { contentType: "application/json" });
  return { key, remove: () => store.delete(key) };
}

/** Removes condemned lists older than CONDEMNED_TTL_MS on the bucket's clock; returns how many. */
export async function removeStaleCondemned(store: BlobStore, now: BucketNow, log: GcLog): Promise<number> {
  let removed = 0;
  for await (const o of store.list(GC_CONDEMNED_PREFIX)) {
    if (o.lastModified === undefined || now.earliest - o.lastModified < CONDEMNED_TTL_MS) continue;
    log.warn({ key: o.key }, "gc removes a condemned list left by a collection that stopped before finishing");
    await store.delete(o.key);
    removed++;
  }
  return removed;
}

/**
 * Reads every condemned list in the bucket. Lists never change once
 * written, so each is fetched once and kept while it is still listed.
 */
export class CondemnedLists {
  private readonly read = new Map<string, Set<string>>();

  constructor(private readonly store: BlobStore) {}

  /** Every key some collection in progress is about to delete, with the list that names it. */
  async current(): Promise<Map<string, string>> {
    const listed: string[] = [];
    for await (const o of this.store.list(GC_CONDEMNED_PREFIX)) listed.push(o.key);
    for (const k of this.read.keys()) if (!listed.includes(k)) this.read.delete(k);
    const out = new Map<string, string>();
    for (const list of listed) {
      let keys = this.read.get(list);
      if (!keys) {
        try {
          keys = parseCondemned(list, await this.store.get(list));
        } catch (err) {
          // Removed between the listing and the read: that collection is done.
          if (isO3mlError(err, "NOT_FOUND")) continue;
          throw err;
        }
        this.read.set(list, keys);
      }
      for (const k of keys) out.set(k, list);
    }
    return out;
  }
}

function parseCondemned(key: string, bytes: Uint8Array): Set<string> {
  let doc: { format?: unknown; keys?: unknown };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString("utf8")) as typeof doc;
  } catch {
    doc = {};
  }
  if (doc?.format !== FORMAT || !Array.isArray(doc.keys) || !doc.keys.every((k) => typeof k === "string")) {
    throw new O3mlError(
      "FAILED_PRECONDITION",
      `${key} is not a condemned list this o3ml can read (format ${FORMAT}), so it cannot tell whether a garbage collection is deleting what this commit uses; nothing was committed — upgrade o3ml, or delete that object if no gc is running`,
      { key },
    );
  }
  return new Set(doc.keys);
}
