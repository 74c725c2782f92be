import type { ChunkBudget } from "@o3ml/repository";

/**
 * The bytes of chunk buffers a service keeps: 96 MiB, twelve chunks at the default 8 MiB, so
 * that eight uploads (the default --concurrency) stay in flight while four more chunks are
 * read and hashed ahead. With the service's own runtime (about 130 MiB) and its threads' heaps,
 * saves and puts then peak at 270-390 MiB (docs/performance.md, "Service memory").
 */
const BUFFER_BYTES = 96 * 1024 * 1024;

/** How many chunk buffers a service cutting `chunkSize`-byte chunks keeps: two at least. */
export function chunkBufferCount(chunkSize: number): number {
  return Math.max(2, Math.floor(BUFFER_BYTES / chunkSize));
}

/**
 * The memory a staged save or put reads its chunks into: a fixed number of
 * buffers, reused for the service's life, shared by every call.
 *
 * Why a pool rather than a fresh buffer per chunk: a chunk's buffer goes to a
 * hashing thread and back (transferred, not copied), and V8 does not count
 * memory that came back from another thread towards its next collection. Fresh
 * buffers therefore piled up as garbage the heap never felt: a 512 MiB staged
 * put peaked at 809 MiB resident, a 256 MiB checkpoint save at 430 MiB
 * (docs/performance.md, "Service memory"). Reused buffers are never garbage, so
 * what a save holds is at most `count` chunks, whatever its size, however many
 * saves run at once and whatever `--concurrency` is: a call whose chunks
 * all wait for buffers simply waits, and each buffer comes back when its upload
 * (and its host-cache copy) is done.
 */
export class ChunkBuffers implements ChunkBudget {
  private readonly free: ArrayBuffer[] = [];
  private readonly waiting: (() => void)[] = [];
  private out = 0;

  constructor(
    /** How many buffers exist at most. */
    readonly count: number,
  ) {
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`ChunkBuffers: count ${count} must be a whole number of at least 1`);
  }

  /**
   * A buffer of at least `bytes`, waiting while every buffer is out. A free
   * buffer too small for `bytes` (the chunk size is per service, so only
   * after a restart with a bigger one, or a larger header) is dropped for a
   * new one: the count, not the sizes, is what the pool keeps.
   */
  async take(bytes: number): Promise<ArrayBuffer> {
    await this.acquire();
    const buf = this.free.pop();
    return buf !== undefined && buf.byteLength >= bytes ? buf : new ArrayBuffer(bytes);
  }

  /**
   * Gives a buffer back: the one `take` returned, or the buffer it became after
   * a transfer to a thread and back (the same memory under a new object).
   * Whoever gives it back must no longer read or write it.
   */
  give(buf: ArrayBuffer): void {
    if (this.out === 0) throw new Error("ChunkBuffers: a buffer was given back that was never taken");
    if (buf.byteLength > 0) this.free.push(buf); // a detached buffer (0 bytes) is not kept
    this.release();
  }

  /**
   * One of the `count` places for a chunk whose bytes are in memory already (a streamed
   * upload's, received over gRPC), without a buffer: streamed and staged uploads together
   * hold at most `count` chunks. Give it back with `release`.
   */
  async acquire(): Promise<void> {
    if (this.out < this.count) {
      this.out++;
      return;
    }
    // Woken by a release that hands its place straight over: no later caller can take it first.
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    if (this.out === 0) throw new Error("ChunkBuffers: a place was released that was never acquired");
    const next = this.waiting.shift();
    if (next) next();
    else this.out--;
  }

  /** Buffers and places taken and not yet given back. */
  get inUse(): number {
    return this.out;
  }
}
