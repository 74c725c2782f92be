/**
 * The hashing tasks of the worker pool (hash-pool.ts). They run on worker
 * threads so the service's event loop, which drives every gRPC call and store
 * request, never spends its time in sha2-256. Worker threads share the
 * process's file descriptors, so a task reads a file the pool's caller opened.
 */
import { createHash } from "node:crypto";
import { openSync, closeSync, readSync } from "node:fs";
import { crc32 } from "node:zlib";
import { Piscina } from "piscina";
import { hashChunkInto, type Parts } from "./chunk-hash.js";

export interface ChunkTask {
  kind: "chunk";
  fd: number;
  /** The ranges [offset, length] read back to back as the chunk. */
  parts: Parts;
  /** CHUNK_HEAD + length bytes (chunk-hash.ts), transferred from the caller. */
  buffer: ArrayBuffer;
}

export interface PassTask {
  kind: "pass";
  fd: number;
  /** Byte ranges [offset, length] read in order: one CRC-32 each, and sha2-256 over all when asked. */
  ranges: [number, number][];
  sha256: boolean;
}

export interface FileTask {
  kind: "file";
  path: string;
}

export type HashTask = ChunkTask | PassTask | FileTask;

/** One read buffer per worker thread, for its whole life (see the chunk task on arenas). */
const block = new Uint8Array(4 * 1024 * 1024);

/** Block size of sequential reads: large enough to amortise a syscall, small for memory. */
const BLOCK = block.byteLength;

export default function run(task: HashTask): unknown {
  if (task.kind === "chunk") {
    // The caller's buffer, [sha2-256 | XXH3-128 | bytes], filled and moved back without a copy.
    // It is allocated by the caller, not here: memory a worker thread allocates comes from
    // that thread's malloc arena, which keeps it after it is freed, and the service's resident
    // memory would grow by every worker's share.
    const out = new Uint8Array(task.buffer);
    hashChunkInto(task.fd, task.parts, out);
    return Piscina.move(out);
  }
  if (task.kind === "pass") {
    const crcs: number[] = [];
    const hash = task.sha256 ? createHash("sha256") : undefined;
    for (const [offset, length] of task.ranges) {
      let crc = 0;
      for (let at = 0; at < length; ) {
        const n = readSync(task.fd, block, 0, Math.min(BLOCK, length - at), offset + at);
        if (n === 0) throw new Error(`the file ended at byte ${offset + at}, before byte ${offset + length}`);
        const view = block.subarray(0, n);
        crc = crc32(view, crc);
        hash?.update(view);
        at += n;
      }
      crcs.push(crc >>> 0);
    }
    return { crcs, sha256: hash ? new Uint8Array(hash.digest()) : undefined };
  }
  const fd = openSync(task.path, "r");
  try {
    const hash = createHash("sha256");
    let size = 0;
    for (let n; (n = readSync(fd, block, 0, BLOCK, null)) > 0; size += n) hash.update(block.subarray(0, n));
    return { digest: new Uint8Array(hash.digest()), size };
  } finally {
    closeSync(fd);
  }
}
