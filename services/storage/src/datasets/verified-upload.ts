import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import { createSha256, digestOfCid, toHex } from "@o3ml/integrity";
import { type KnownBlobs, blobKey } from "@o3ml/repository";

/**
 * Stores a blob whose CID the client declared up front, without holding it
 * in memory and without ever letting bytes that do not match appear under
 * that CID.
 *
 * S3 has no rename, so "upload under a temporary key, verify, then move" is
 * not available; spooling to local disk first would double the I/O of every
 * 64 MiB shard. Instead the bytes stream straight into putStream (multipart
 * above one part, memory bounded by the store's queueSize × partSize) through
 * a generator that hashes them, and that generator checks size and hash when
 * the client's stream ends, before it reports its own end. The uploader only
 * sends the single PUT, or CompleteMultipartUpload, after its body has ended;
 * when the check throws instead, the upload is aborted and its parts are
 * discarded, so nothing becomes visible under the CID.
 */
export async function putVerified(
  store: BlobStore,
  known: KnownBlobs,
  header: { cid: string; size: number },
  data: AsyncIterable<Uint8Array>,
  ended: () => void,
): Promise<{ deduplicated: boolean }> {
  const { cid, size } = header;
  const expected = toHex(digestOfCid(cid));
  if (!Number.isSafeInteger(size) || size < 0) throw new O3mlError("INVALID_ARGUMENT", `put blob ${cid}: the header's size ${size} is not a byte count`, { cid });
  async function* checked(): AsyncGenerator<Uint8Array> {
    const hash = createSha256();
    for await (const piece of data) {
      if (hash.bytes + piece.byteLength > size) {
        throw new O3mlError("INVALID_ARGUMENT", `put blob ${cid}: more bytes than the ${size} the header declared; nothing was stored`, { cid });
      }
      hash.update(piece);
      yield piece;
    }
    ended();
    if (hash.bytes !== size) {
      throw new O3mlError("ABORTED", `put blob ${cid}: the stream ended after ${hash.bytes} of ${size} declared bytes; nothing was stored`, { cid });
    }
    const actual = hash.digestHex();
    if (actual !== expected) {
      throw new O3mlError(
        "INTEGRITY",
        `put blob ${cid}: the ${size} bytes received hash to sha2-256 ${actual}, but the CID names ${expected}; nothing was stored — compute the CID over exactly the bytes sent`,
        { cid },
      );
    }
  }
  if (await known.has(cid)) {
    // Already stored: the bytes are still read (the client sends them) and checked, but not uploaded.
    for await (const _ of checked());
    return { deduplicated: true };
  }
  await store.putStream(blobKey(cid), checked());
  known.add(cid);
  return { deduplicated: false };
}
