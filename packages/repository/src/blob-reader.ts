import { O3mlError, isO3mlError } from "@o3ml/errors";
import type { BlobStore } from "@o3ml/o3-client";
import { verifyBlob } from "@o3ml/integrity";
import { blobKey } from "./layout.js";

export interface ChunkSpan {
  cid: string;
  size: number;
  /** Byte range of this chunk to deliver, relative to the chunk. */
  from: number;
  to: number;
}

/**
 * Bytes of blobs one read holds for a later span naming them again (a pack that
 * several small checkpoint entries share): beyond it, a blob is fetched again.
 */
const RETAIN_BYTES = 32 * 1024 * 1024;

/** Spans started ahead of the consumer at most, per fetch allowed in flight (most reuse a held blob). */
const SPANS_PER_FETCH = 64;

/**
 * Yields the requested parts of each chunk in order, fetching up to `prefetch`
 * blobs ahead. Every chunk is verified against its CID before any byte of it
 * is yielded, so a corrupt blob never reaches the caller. A blob that several
 * spans name (a checkpoint's pack of small entries) is fetched once and held
 * until the last of them, within RETAIN_BYTES.
 */
export async function* readChunks(
  store: BlobStore,
  spans: ChunkSpan[],
  prefetch: number,
  context: { key: string },
): AsyncGenerator<Uint8Array> {
  const lastUse = new Map<string, number>();
  for (const [i, span] of spans.entries()) lastUse.set(span.cid, i);
  /** Blobs fetched for a span and named again by a later one. */
  const held = new Map<string, Promise<Uint8Array>>();
  let heldBytes = 0;
  const pending: { bytes: Promise<Uint8Array>; fresh: boolean }[] = [];
  let fetching = 0;
  let next = 0;
  const fill = () => {
    while (fetching < prefetch && pending.length < prefetch * SPANS_PER_FETCH && next < spans.length) {
      const i = next++;
      const span = spans[i]!;
      const again = held.get(span.cid);
      if (again) {
        pending.push({ bytes: again, fresh: false });
        continue;
      }
      const p = fetchVerified(store, span, context.key);
      p.catch(() => {}); // surfaced when awaited below, in order
      pending.push({ bytes: p, fresh: true });
      fetching++;
      if (lastUse.get(span.cid)! > i && heldBytes + span.size <= RETAIN_BYTES) {
        held.set(span.cid, p);
        heldBytes += span.size;
      }
    }
  };
  fill();
  for (let i = 0; i < spans.length; i++) {
    const started = pending.shift()!;
    const bytes = await started.bytes;
    if (started.fresh) fetching--;
    const span = spans[i]!;
    if (lastUse.get(span.cid) === i && held.delete(span.cid)) heldBytes -= span.size;
    fill();
    yield span.from === 0 && span.to === bytes.byteLength ? bytes : bytes.subarray(span.from, span.to);
  }
}

/**
 * Fetches a blob and checks it against its CID. A mismatch is read once more:
 * bytes damaged in transit (a flipped bit, a body cut short that still
 * looked whole) come back right the second time, while bytes damaged in the
 * store fail again and are reported as INTEGRITY. Wrong bytes are never
 * returned either way.
 */
export async function fetchVerified(store: BlobStore, span: Pick<ChunkSpan, "cid">, key: string): Promise<Uint8Array> {
  const what = { key, what: `blob ${blobKey(span.cid)}` };
  const bytes = await getBlob(store, span.cid, key);
  try {
    verifyBlob(span.cid, bytes, what);
    return bytes;
  } catch (err) {
    if (O3mlError.from(err).code !== "INTEGRITY") throw err;
  }
  const again = await getBlob(store, span.cid, key);
  verifyBlob(span.cid, again, what);
  return again;
}

/**
 * A blob a manifest names. Its absence is data loss, not "no such object":
 * INTEGRITY naming the object key and the CID, as a missing manifest is, so
 * no client mistakes it for a missing file.
 */
async function getBlob(store: BlobStore, cid: string, key: string): Promise<Uint8Array> {
  try {
    return await store.get(blobKey(cid));
  } catch (err) {
    if (!isO3mlError(err, "NOT_FOUND")) throw err;
    throw new O3mlError(
      "INTEGRITY",
      `object ${key}: its blob ${cid} is missing from bucket ${store.bucket}; the object cannot be read — restore it from another copy, or delete the object and run o3ml gc`,
      { key, cid },
      { cause: err },
    );
  }
}
