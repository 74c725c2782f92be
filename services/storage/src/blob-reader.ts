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

async function fetchVerified(store: BlobStore, span: ChunkSpan, key: string): Promise<Uint8Array> {
  const bytes = await store.get(blobKey(span.cid));
  verifyBlob(span.cid, bytes, { key, what: `blob ${blobKey(span.cid)}` });
  return bytes;
}
