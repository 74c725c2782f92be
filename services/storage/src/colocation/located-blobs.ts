import type { CacheLease } from "@o3ml/cache";
import { O3mlError } from "@o3ml/errors";
import type { ChunkEntry } from "@o3ml/integrity";
import type { BlobStore } from "@o3ml/o3-client";
import { fetchVerified } from "@o3ml/repository";
import type { Host } from "./host.js";

/** Blobs (and checkpoint entries) up to this size are sent inline: a file would cost more than the bytes. */
export const INLINE_BYTES = 256 * 1024;

/**
 * How much further than `concurrency` small blobs are fetched ahead. A small blob's GET is all
 * round trip and no bandwidth, and a checkpoint of many small tensors is hundreds of them (a
 * ResNet-50's 481 entries); its bytes are in memory until sent, so the bound is in blobs:
 * `concurrency` × 8 of at most INLINE_BYTES each (16 MiB at the default 8).
 */
const SMALL_AHEAD_FACTOR = 8;

/** A blob as a co-located reader gets it: a verified, pinned cache file, or small verified bytes. */
export type LocatedBlob = CacheLease | Uint8Array;

/**
 * The blobs of `chunks`, in order, each verified right before it is yielded:
 * those `inline(i)` picks (small ones: a file would cost more than the bytes;
 * and a checkpoint's small packs, whose entries are sliced out of them) as bytes
 * fetched into memory, the others as host-cache files (Host.verifiedFile).
 * Fetches run ahead of the consumer: at most `concurrency` blobs larger than
 * INLINE_BYTES (cache files, or any larger blob a caller picks inline), and with small blobs up to
 * `concurrency` × SMALL_AHEAD_FACTOR blobs in all; every cache file stays
 * pinned until the generator ends, however it ends. An error names `key` and the CID.
 */
export async function* locatedBlobs(
  host: Host,
  store: BlobStore,
  chunks: readonly ChunkEntry[],
  inline: (i: number) => boolean,
  concurrency: number,
  key: string,
  what: string,
): AsyncGenerator<LocatedBlob> {
  const fetch = async (i: number): Promise<LocatedBlob> => {
    const cid = chunks[i]!.cid;
    try {
      const got: LocatedBlob = inline(i) ? await fetchVerified(store, { cid }, key) : await host.verifiedFile(cid, what);
      const size = got instanceof Uint8Array ? got.byteLength : got.size;
      if (size !== chunks[i]!.size) throw new O3mlError("INTEGRITY", `blob ${cid} holds ${size} bytes, the manifest says ${chunks[i]!.size}`, { key, cid });
      return got;
    } catch (err) {
      const e = O3mlError.from(err);
      // A blob the manifest names is missing from the cache's source: data loss, as fetchVerified says it.
      if (e.code === "NOT_FOUND") throw new O3mlError("INTEGRITY", `${what}: blob ${cid} of ${key} is missing from the bucket (data loss); restore it from another copy`, { key, cid }, { cause: err });
      throw new O3mlError(e.code, e.message.includes(key) ? e.message : `${what}: ${e.message}`, { ...e.details, key, cid }, { cause: err });
    }
  };
  const started: Promise<LocatedBlob>[] = [];
  // Started but not yet yielded: all blobs, and the large ones.
  let largeAhead = 0;
  const large = (i: number) => !inline(i) || chunks[i]!.size > INLINE_BYTES;
  const ahead = (consumed: number) => {
    while (started.length < chunks.length && started.length - consumed < concurrency * SMALL_AHEAD_FACTOR) {
      const next = started.length;
      if (large(next) && largeAhead >= concurrency) break;
      if (large(next)) largeAhead++;
      const p = fetch(next);
      p.catch(() => undefined); // awaited in order below; a failure is reported there
      started.push(p);
    }
  };
  try {
    for (let i = 0; i < chunks.length; i++) {
      ahead(i);
      const got = await started[i]!;
      if (large(i)) largeAhead--;
      yield got;
    }
  } finally {
    for (const r of await Promise.allSettled(started)) if (r.status === "fulfilled" && !(r.value instanceof Uint8Array)) await r.value.release();
  }
}
