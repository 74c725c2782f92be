import type { BlobCache, BlobFiller, CacheLease } from "@o3ml/cache";
import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import { parseCid } from "@o3ml/integrity";
import { blobKey } from "@o3ml/repository";

/**
 * Blobs of the bucket through the host's cache: a miss is fetched from the
 * store into the cache by `fetches` (the fetch pool's worker threads), which
 * verifies it against its CID before the entry exists. Whatever reads through
 * here reads verified bytes only.
 */
export class CachedBlobs {
  constructor(
    private readonly store: BlobStore,
    private readonly cache: () => Promise<BlobCache>,
    private readonly fetches: BlobFiller,
  ) {}

  /** A pinned, verified cache file of `cid`; `fromStore` re-reads the bucket even on a hit. */
  async acquire(cid: string, fromStore = false): Promise<CacheLease> {
    parseCid(cid);
    const key = blobKey(cid);
    const cache = await this.cache();
    const filler: BlobFiller = {
      fill: async (cid, tmp, entry, what) => {
        try {
          return await this.fetches.fill(cid, tmp, entry, what);
        } catch (err) {
          if (err instanceof O3mlError && err.code === "NOT_FOUND") {
            throw new O3mlError("NOT_FOUND", `no blob ${cid} in bucket ${this.store.bucket}; it was never uploaded (BlobService.Put) or was collected by 'o3ml gc'`, { cid, key }, { cause: err });
          }
          throw err;
        }
      },
    };
    return cache.acquire(cid, filler, { what: `${key} in bucket ${this.store.bucket}`, refresh: fromStore });
  }
}
