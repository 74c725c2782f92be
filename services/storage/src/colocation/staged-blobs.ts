import type { FileHandle } from "node:fs/promises";
import { O3mlError } from "@o3ml/errors";
import { cidOfDigest } from "@o3ml/integrity";
import type { BlobWriter } from "@o3ml/repository";
import { fastDigest } from "./chunk-hash.js";
import type { HashPool } from "./hash-pool.js";

/** A blob's bytes in a staged file: one range, or several read back to back (`parts`, a pack). */
export interface Cut {
  offset: number;
  length: number;
  parts?: [number, number][];
}

/** The CID and XXH3-128 of every cut, and the CRC-32 of every range. */
export interface StagedBlobs {
  cids: string[];
  fast: Uint8Array[];
  /** For a cut of several parts: the XXH3-128 of each part. */
  partFast: (Uint8Array[] | undefined)[];
  crcs: number[];
  /** sha2-256 over all ranges, when asked for. */
  sha256?: Uint8Array;
}

/** Where a staged blob's bytes may also go once hashed (the host cache, Host.keep). */
export type KeepBlob = (cid: string, digest: Uint8Array, bytes: Uint8Array) => Promise<void>;

/**
 * Turns the cuts of a staged file into blobs: each is read and hashed on the
 * pool's threads and handed to `writer` (which uploads it unless the bucket
 * has it) and to `keep`, `concurrency` at a time, so reads run ahead of uploads by at most
 * that many blobs. Beside them, one thread reads `ranges` in order for a
 * CRC-32 each and, with `sha256`, the digest over all of them. Every task started has settled
 * before this returns or throws: none reads the descriptor after the caller
 * closes it (its number could be reused by another file).
 */
export async function writeStagedBlobs(
  file: FileHandle,
  cuts: Cut[],
  ranges: [number, number][],
  hashes: HashPool,
  writer: BlobWriter,
  concurrency: number,
  what: string,
  sha256 = false,
  keep?: KeepBlob,
): Promise<StagedBlobs> {
  const unreadable = (err: unknown) =>
    new O3mlError("ABORTED", `${what}: the staged file could not be read whole (${(err as Error).message}); was it changed meanwhile? Nothing was committed — try again`);
  // Nothing to pass over (an object of one chunk, whose CID is its digest): no task for a thread.
  const whole = ranges.length === 0 && !sha256 ? Promise.resolve({ crcs: [] }) : hashes.pass(file.fd, ranges, sha256).catch((err: unknown) => Promise.reject(unreadable(err)));
  const cids = new Array<string>(cuts.length);
  const fast = new Array<Uint8Array>(cuts.length);
  const partFast = new Array<Uint8Array[] | undefined>(cuts.length);
  let next = 0;
  let failure: unknown;
  const lane = async () => {
    while (failure === undefined && next < cuts.length) {
      const i = next++;
      const cut = cuts[i]!;
      try {
        const got = await hashes.chunk(file.fd, cut.parts ?? [[cut.offset, cut.length]]).catch((err: unknown) => Promise.reject(unreadable(err)));
        const { digest, bytes } = got;
        cids[i] = cidOfDigest(digest);
        fast[i] = got.fast.slice(); // kept past the buffer's return
        if (cut.parts) {
          // Each part's own digest (a packed entry's, for the run's next save): XXH3 runs at
          // tens of GB/s, so a pack's parts cost well under a millisecond here.
          let at = 0;
          partFast[i] = cut.parts.map(([, length]) => fastDigest(bytes.subarray(at, (at += length))));
        }
        // The chunk's buffer goes back to the pool once both its upload and its host-cache copy are done.
        let pending = keep ? 2 : 1;
        const settled = () => void (--pending === 0 && got.release());
        const kept = keep?.(cids[i], digest, bytes).finally(settled);
        await Promise.all([writer.write(cids[i], bytes, settled), kept]);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, cuts.length) }, lane));
  const pass = await whole.catch((err: unknown) => void (failure ??= err));
  if (failure !== undefined || !pass) throw failure;
  return { cids, fast, partFast, ...pass };
}

/** Cuts of `length` bytes from `offset` at `chunkSize` boundaries (none for an empty range). */
export function cutsOf(offset: number, length: number, chunkSize: number): Cut[] {
  const out: Cut[] = [];
  for (let at = 0; at < length; at += chunkSize) out.push({ offset: offset + at, length: Math.min(chunkSize, length - at) });
  return out;
}
