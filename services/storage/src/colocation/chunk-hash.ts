/**
 * One chunk of a staged file read and hashed into a buffer laid out as
 * [sha2-256 (32) | XXH3-128 (16) | the chunk's bytes]: what a hashing thread does
 * for a large chunk (hash-worker.ts) and the event loop for a small one
 * (hash-pool.ts), so both give the same bytes.
 */
import { createHash } from "node:crypto";
import { readSync } from "node:fs";
import { xxh3 } from "@node-rs/xxhash";

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

/** XXH3-128 as its canonical 16 bytes (big-endian), as Python's xxhash digest() gives it. */
function bigEndian128(h: bigint): Uint8Array {
  const out = new Uint8Array(16);
  new DataView(out.buffer).setBigUint64(0, h >> 64n);
  new DataView(out.buffer).setBigUint64(8, h & 0xffff_ffff_ffff_ffffn);
  return out;
}

/** Reads [offset, offset + length) of `fd` into `out` after its head, and writes both digests into the head. */
export function hashChunkInto(fd: number, offset: number, length: number, out: Uint8Array): void {
  const bytes = readRange(fd, offset, length, out.subarray(CHUNK_HEAD, CHUNK_HEAD + length));
  out.set(createHash("sha256").update(bytes).digest(), 0);
  out.set(bigEndian128(xxh3.xxh128(bytes)), DIGEST);
}
