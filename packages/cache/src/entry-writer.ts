import { randomBytes } from "node:crypto";
import { closeSync, createReadStream, openSync, writeSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { O3mlError } from "@o3ml/errors";
import { createSha256, digestOfCid, toHex } from "@o3ml/integrity";
import { entryPath, tempPath } from "./cache-names.js";

/** Writes are batched to about this many bytes: stores deliver 16–64 KiB pieces. */
const WRITE_BATCH = 256 * 1024;

/**
 * Streams `source` into a temp file, hashing as it goes, and gives it the
 * name `<cid>` only when the bytes hash to `cid`. Any failure removes the
 * temp file. `what` names the blob's origin in the INTEGRITY error.
 *
 * No fsync: an entry can always be fetched again, and a crash that leaves a
 * named entry with lost bytes is caught where every entry is checked before
 * use — a cache instance re-hashes each entry it did not write itself.
 */
export function writeVerifiedEntry(dir: string, cid: string, source: AsyncIterable<Uint8Array>, what: string): Promise<number> {
  return writeVerifiedFile(newTempPath(dir), entryPath(dir, cid), cid, source, what);
}

/** A fresh temp file name in the cache directory `dir`, for one entry being written. */
export function newTempPath(dir: string): string {
  return tempPath(dir, process.pid, randomBytes(8).toString("hex"));
}

/**
 * writeVerifiedEntry with the temp file chosen by the caller: a fill on
 * another thread (BlobFiller) writes to a name its caller knows, so the
 * caller can remove the file when that thread dies before it could.
 */
export async function writeVerifiedFile(tmp: string, entry: string, cid: string, source: AsyncIterable<Uint8Array>, what: string): Promise<number> {
  const dir = dirname(entry);
  const expected = digestOfCid(cid);
  const fh = await open(tmp, "wx");
  const hash = createSha256();
  let batch: Uint8Array[] = [];
  let batched = 0;
  const flush = async () => {
    if (batched === 0) return;
    await fh.writev(batch);
    batch = [];
    batched = 0;
  };
  try {
    try {
      for await (const piece of source) {
        hash.update(piece);
        batch.push(piece);
        batched += piece.byteLength;
        if (batched >= WRITE_BATCH) await flush();
      }
      await flush();
      const actual = hash.digest();
      if (toHex(actual) !== toHex(expected)) throw mismatch(cid, what, toHex(expected), toHex(actual), hash.bytes);
    } finally {
      await fh.close();
    }
    await rename(tmp, entry);
    return hash.bytes;
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw asCacheError(err, dir);
  }
}

/** An entry being written piece by piece, each piece consumed before `write` returns. */
export interface EntrySink {
  write(piece: Uint8Array): void;
  /** Gives the temp file the entry's name once its bytes hash to the CID; INTEGRITY (file removed) when not. */
  finish(): Promise<number>;
  /** Removes the temp file; nothing is named. */
  abort(): Promise<void>;
}

/**
 * writeVerifiedFile for bytes that arrive in memory reused after each piece
 * (o3-client's socket-get.ts): each piece is hashed and written with
 * blocking calls before `write` returns. Meant for a fetch thread, whose
 * event loop does nothing else; writes go to the page cache.
 */
export function openEntrySink(tmp: string, entry: string, cid: string, what: string): EntrySink {
  const dir = dirname(entry);
  const expected = toHex(digestOfCid(cid));
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx");
  } catch (err) {
    throw asCacheError(err, dir);
  }
  const hash = createSha256();
  const close = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  const remove = async () => {
    close();
    await unlink(tmp).catch(() => undefined);
  };
  return {
    write: (piece) => {
      if (fd === undefined) throw new Error(`the cache entry ${tmp} is closed`);
      hash.update(piece);
      try {
        for (let at = 0; at < piece.byteLength; ) at += writeSync(fd, piece, at, piece.byteLength - at);
      } catch (err) {
        throw asCacheError(err, dir);
      }
    },
    finish: async () => {
      try {
        close();
        const actual = toHex(hash.digest());
        if (actual !== expected) throw mismatch(cid, what, expected, actual, hash.bytes);
        await rename(tmp, entry);
        return hash.bytes;
      } catch (err) {
        await remove();
        throw asCacheError(err, dir);
      }
    },
    abort: remove,
  };
}

/**
 * Writes `bytes`, which the caller has just hashed to `cid` (blobs of a
 * save, hashed before they are uploaded), into a temp file and gives it the
 * name `<cid>`. Any failure removes the temp file.
 */
export async function writeKnownEntry(dir: string, cid: string, bytes: Uint8Array): Promise<void> {
  const tmp = newTempPath(dir);
  try {
    const fh = await open(tmp, "wx");
    try {
      for (let at = 0; at < bytes.byteLength; ) at += (await fh.write(bytes, at, bytes.byteLength - at)).bytesWritten;
    } finally {
      await fh.close();
    }
    await rename(tmp, entryPath(dir, cid));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw asCacheError(err, dir);
  }
}

/** True when the file's bytes hash to `cid` (re-checking an entry this instance did not write). */
export async function fileMatches(path: string, cid: string): Promise<boolean> {
  const expected = toHex(digestOfCid(cid));
  const hash = createSha256();
  try {
    for await (const piece of createReadStream(path, { highWaterMark: WRITE_BATCH })) hash.update(piece as Buffer);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  return hash.digestHex() === expected;
}

function mismatch(cid: string, what: string, expected: string, actual: string, bytes: number): O3mlError {
  return new O3mlError(
    "INTEGRITY",
    `blob ${cid} (${what}) failed verification: expected sha2-256 ${expected}, got ${actual} over ${bytes} bytes; ` +
      "the stored blob was altered or truncated; nothing was cached; run `o3ml verify` and restore it from another copy",
    { cid, bytes },
  );
}

export function asCacheError(err: unknown, dir: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new O3mlError("RESOURCE_EXHAUSTED", `the blob cache at ${dir} ran out of disk space; free space or lower O3ML_CACHE_BYTES`, { dir }, { cause: err });
  }
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new O3mlError("PERMISSION_DENIED", `cannot write to the blob cache at ${dir} (${code}); fix its permissions or set O3ML_HOME`, { dir }, { cause: err });
  }
  return err;
}
