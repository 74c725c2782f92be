import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import { GC_CLOCK_KEY } from "../layout.js";

/**
 * "Now" on the bucket's clock, the clock that stamps every LastModified: gc
 * compares ages only on this clock, so no host's clock (nor the skew between
 * hosts) enters any decision. LastModified on HEAD has whole seconds, so the
 * write happened somewhere in [earliest, latest].
 */
export interface BucketNow {
  earliest: number;
  latest: number;
}

/** Writes GC_CLOCK_KEY and reads back when the store says it wrote it. */
export async function bucketNow(store: BlobStore): Promise<BucketNow> {
  await store.put(GC_CLOCK_KEY, Buffer.from(new Date().toISOString(), "utf8"));
  const head = await store.head(GC_CLOCK_KEY);
  if (head?.lastModified === undefined) {
    throw new O3mlError(
      "FAILED_PRECONDITION",
      `gc stopped before deleting anything: the store at ${store.endpoint} (bucket ${store.bucket}) does not tell when ${GC_CLOCK_KEY} was written (no Last-Modified), so gc cannot measure the grace period on the bucket's clock`,
      { key: GC_CLOCK_KEY },
    );
  }
  return { earliest: head.lastModified, latest: head.lastModified + 999 };
}
