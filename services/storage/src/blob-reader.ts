import { O3mlError } from "@o3ml/errors";
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
 * Yields the requested parts of each chunk in order, fetching up to `prefetch`
 * chunks ahead. Every chunk is verified against its CID before any byte of it
 * is yielded, so a corrupt blob never reaches the caller.
 */
export async function* readChunks(
  store: BlobStore,
  spans: ChunkSpan[],
  prefetch: number,
  context: { key: string },
): AsyncGenerator<Uint8Array> {
  const pending: Promise<Uint8Array>[] = [];
  let next = 0;
  const fill = () => {
    while (pending.length < prefetch && next < spans.length) {
      const span = spans[next++]!;
      const p = fetchVerified(store, span, context.key);
      p.catch(() => {}); // surfaced when awaited below, in order
      pending.push(p);
    }
  };
  fill();
  for (let i = 0; i < spans.length; i++) {
    const bytes = await pending.shift()!;
    fill();
    const span = spans[i]!;
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
  const bytes = await store.get(blobKey(span.cid));
  try {
    verifyBlob(span.cid, bytes, what);
    return bytes;
  } catch (err) {
    if (O3mlError.from(err).code !== "INTEGRITY") throw err;
  }
  const again = await store.get(blobKey(span.cid));
  verifyBlob(span.cid, again, what);
  return again;
}
