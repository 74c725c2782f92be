/**
 * One chunk of a staged file read and hashed into a buffer laid out as
 * [sha2-256 (32) | XXH3-128 (16) | the chunk's bytes]: what a hashing thread does
 * for a large chunk (hash-worker.ts) and the event loop for a small one
 * (hash-pool.ts), so both give the same bytes. A chunk is one range of the file,
 * or several read back to back (a pack of a checkpoint's small entries).
 */
import { createHash } from "node:crypto";
import { readSync } from "node:fs";
// xxhash-addon, the C library's own XXH3 with its SIMD paths: about 40 GB/s here where
// @node-rs/xxhash gave 2 GB/s, as slow as the sha2-256 beside it (docs/performance.md).
import xxhash from "xxhash-addon";

const DIGEST = 32;
/** Where the chunk's bytes start in the buffer. */
export const CHUNK_HEAD = DIGEST + 16;

/** Reads [offset, offset + length) of `fd` into `bytes`; a short file is an error. */
function readRange(fd: number, offset: number, length: number, bytes: Uint8Array): Uint8Array {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, bytes, done, length - done, offset + done);
    if (n === 0) throw new Error(`the file ended at byte ${offset + done}, before byte ${offset + length}`);
    done += n;
  }
  return bytes;
}

/** Byte ranges [offset, length] of a file, read back to back as one chunk. */
export type Parts = readonly (readonly [number, number])[];

/** The XXH3-128 of `bytes` as its canonical 16 bytes (big-endian), as Python's xxhash digest() gives it. */
export function fastDigest(bytes: Uint8Array): Uint8Array {
  return xxhash.XXHash128.hash(bytes as Buffer);
}

/** Reads `parts` of `fd` back to back into `out` after its head, and writes both digests of them into the head. */
export function hashChunkInto(fd: number, parts: Parts, out: Uint8Array): void {
  let at = CHUNK_HEAD;
  for (const [offset, length] of parts) {
    readRange(fd, offset, length, out.subarray(at, at + length));
    at += length;
  }
  const bytes = out.subarray(CHUNK_HEAD, at);
  out.set(createHash("sha256").update(bytes).digest(), 0);
  out.set(fastDigest(bytes), DIGEST);
}
