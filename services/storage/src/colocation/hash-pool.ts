import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import type { ChunkBuffers } from "./chunk-buffers.js";
import { CHUNK_HEAD, hashChunkInto, type Parts } from "./chunk-hash.js";
import type { ChunkTask, FileTask, PassTask } from "./hash-worker.js";
import { workerFile } from "./worker-file.js";

/**
 * Chunks up to this size are read and hashed on the calling thread: a task's round trip to a
 * worker (posting it, waking the thread, the answer) costs the event loop more than hashing
 * 64 KiB does (about 30 µs), and a checkpoint of many small tensors is hundreds of such chunks
 * (a ResNet-50's 481 entries: the task posts were 0.18 CPU-s of the event loop per save).
 */
const INLINE_HASH_BYTES = 64 * 1024;

/**
 * sha2-256, XXH3-128 and CRC-32 on worker threads, one per core: files staged by a
 * co-located client are hashed in place and in parallel, and the event loop
 * stays free for gRPC and store traffic. Threads start on first use and stop
 * after a second without work: each holds a JavaScript heap of its own, tens
 * of MiB the service would otherwise keep resident between saves (the 2 GiB
 * memory test counts them).
 */
export class HashPool {
  private pool: Piscina | undefined;

  constructor(
    /** What chunks are read into: bounds the bytes every staged save and put hold at once, together. */
    readonly buffers: ChunkBuffers,
    private readonly threads = Math.max(2, availableParallelism()),
  ) {}

  private get workers(): Piscina {
    this.pool ??= new Piscina({ filename: workerFile("hash-worker"), maxThreads: this.threads, minThreads: 0, idleTimeout: 1_000 });
    return this.pool;
  }

  /**
   * The bytes of `parts` of an open file, read back to back, their sha2-256 and their XXH3-128, in
   * one of the pool's chunk buffers (waiting for one while all are out; a small chunk in a
   * buffer of its own). `release` gives the buffer back: call it when nothing reads `bytes` any more.
   */
  async chunk(fd: number, parts: Parts): Promise<{ digest: Uint8Array; fast: Uint8Array; bytes: Uint8Array; release: () => void }> {
    const length = parts.reduce((n, [, l]) => n + l, 0);
    if (length <= INLINE_HASH_BYTES) {
      // A small chunk is hashed here, in a buffer of its own size: it never crosses to a thread,
      // so V8 counts it as any buffer, and it takes no place among the chunk buffers (the blob
      // writer bounds small uploads by their number, blob-writer.ts).
      const out = new Uint8Array(CHUNK_HEAD + length);
      hashChunkInto(fd, parts, out);
      return { digest: out.subarray(0, 32), fast: out.subarray(32, CHUNK_HEAD), bytes: out.subarray(CHUNK_HEAD), release: () => {} };
    }
    // Taken on the main thread and handed to the worker (see hash-worker.ts on arenas).
    const buffer = await this.buffers.take(CHUNK_HEAD + length);
    let out: Uint8Array;
    try {
      out = await this.workers.run({ kind: "chunk", fd, parts, buffer } satisfies ChunkTask, { transferList: [buffer] });
    } catch (err) {
      this.buffers.give(buffer); // if detached by the transfer, the pool counts it back and makes a new one
      throw err;
    }
    let given = false;
    const release = () => {
      if (given) return;
      given = true;
      this.buffers.give(out.buffer as ArrayBuffer);
    };
    return { digest: out.subarray(0, 32), fast: out.subarray(32, CHUNK_HEAD), bytes: out.subarray(CHUNK_HEAD, CHUNK_HEAD + length), release };
  }

  /** One sequential pass over ranges of an open file: each range's CRC-32, and sha2-256 over all when asked. */
  pass(fd: number, ranges: [number, number][], sha256: boolean): Promise<{ crcs: number[]; sha256?: Uint8Array }> {
    return this.workers.run({ kind: "pass", fd, ranges, sha256 } satisfies PassTask);
  }

  /** sha2-256 and size of a whole file. */
  file(path: string): Promise<{ digest: Uint8Array; size: number }> {
    return this.workers.run({ kind: "file", path } satisfies FileTask);
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.destroy();
  }
}
