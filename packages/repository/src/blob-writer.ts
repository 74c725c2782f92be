import { O3mlError, isO3mlError } from "@o3ml/errors";
import { digestOfCid } from "@o3ml/integrity";
import type { BlobStore } from "@o3ml/o3-client";
import { blobKey } from "./layout.js";
import type { BlobLease, KnownBlobs } from "./known-blobs.js";

/**
 * Blobs up to this size (every blob at the default chunk size) are written
 * with one conditional PUT instead of HEAD, then PUT: a blob this service does
 * not remember is usually new, and then the HEAD is a wasted round trip. When
 * the blob is there after all, the store refuses the PUT (the SDK sends
 * `Expect: 100-continue`, so the body mostly does not even go out). Larger
 * blobs are uploaded in parts, which a refusal at completion would waste.
 */
const CONDITIONAL_PUT_BYTES = 16 * 1024 * 1024;

/**
 * Blobs up to this size are small: their PUT is a round trip more than a transfer, and a
 * checkpoint of many small tensors is hundreds of them (a ResNet-50's 481 entries, 349 of them
 * 4 KiB or less). Up to SMALL_FACTOR times `concurrency` of them are in flight (a large blob
 * counts as SMALL_FACTOR small ones), and they take no place in the chunk budget: together they
 * hold at most `concurrency` × SMALL_FACTOR × 256 KiB.
 */
const SMALL_BLOB_BYTES = 256 * 1024;
const SMALL_FACTOR = 8;

/**
 * What bounds the chunks a whole service holds in memory, across calls
 * (services/storage/src/colocation/chunk-buffers.ts): a write of a large blob whose bytes are not
 * already counted there (it has no `done`) takes a unit before it is queued
 * and gives it back once its upload has settled.
 */
export interface ChunkBudget {
  acquire(): Promise<void>;
  release(): void;
}

/**
 * Uploads content-addressed blobs with bounded concurrency and dedup. `write`
 * resolves as soon as the blob is queued, but only while fewer than
 * `concurrency` large uploads are in flight (or SMALL_FACTOR times as many
 * small ones): the caller's stream is thereby paused (backpressure), so memory
 * stays bounded by concurrency × blob size.
 * The first failure is kept and rethrown by the next `write` or by `flush`.
 * With a lease, every CID written (uploaded or deduplicated) is leased first,
 * so garbage collection keeps it until the caller's commit releases the lease.
 */
export class BlobWriter {
  private readonly inflight = new Set<Promise<void>>();
  /** Uploads in flight, a large blob counting SMALL_FACTOR and a small one 1. */
  private weight = 0;
  // Boxed, so that a rejection whose reason is undefined is kept as a failure too.
  private failure: { error: unknown } | undefined;
  bytesUploaded = 0;
  bytesDeduplicated = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly known: KnownBlobs,
    private readonly concurrency: number,
    private readonly lease?: BlobLease,
    private readonly budget?: ChunkBudget,
  ) {}

  /**
   * `done`, when given, is called once nothing reads `bytes` any more: when its upload has
   * settled, or at once when the blob is never queued (an earlier failure), so that a
   * caller can reuse the buffer (services/storage/src/colocation/chunk-buffers.ts); without
   * it a large blob's write counts against the budget, if the writer has one.
   */
  async write(cid: string, bytes: Uint8Array, done?: () => void): Promise<void> {
    const small = bytes.byteLength <= SMALL_BLOB_BYTES;
    if (!done && this.budget && !small) {
      this.throwIfFailed();
      await this.budget.acquire();
      done = () => this.budget!.release();
    }
    const weight = small ? 1 : SMALL_FACTOR;
    try {
      this.throwIfFailed();
      this.lease?.add(cid);
      while (this.weight > 0 && this.weight + weight > this.concurrency * SMALL_FACTOR) {
        await Promise.race(this.inflight);
        this.throwIfFailed();
      }
    } catch (err) {
      done?.();
      throw err;
    }
    this.weight += weight;
    const p = this.upload(cid, bytes)
      .then(
        () => void this.inflight.delete(p),
        (err) => {
          this.failure ??= { error: err };
          this.inflight.delete(p);
        },
      )
      .finally(() => {
        this.weight -= weight;
        done?.();
      });
    this.inflight.add(p);
  }

  /**
   * Counts on a blob this writer has no bytes for (an entry the client did not
   * resend): it must be in the bucket, else FAILED_PRECONDITION (`what` names
   * the commit), so the caller can send the bytes after all.
   */
  async reuse(cid: string, size: number, what: string): Promise<void> {
    this.throwIfFailed();
    this.lease?.add(cid);
    if (!(await this.known.has(cid))) {
      throw new O3mlError("FAILED_PRECONDITION", `${what}: blob ${cid} of an entry sent as reused is no longer in the bucket (collected by gc?); nothing was committed — save again without reuse`, { cid });
    }
    this.deduplicated(cid, size);
  }

  /** Waits for every queued upload; rethrows the first failure. */
  async flush(): Promise<void> {
    await Promise.all(this.inflight);
    this.throwIfFailed();
  }

  /** Waits for every queued upload to settle, ignoring failures (used when aborting). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inflight);
  }

  private async upload(cid: string, bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength <= CONDITIONAL_PUT_BYTES && !(await this.known.remembers(cid))) {
      // One conditional PUT (If-None-Match: *). Where the store does not enforce
      // the condition, the client does HEAD then PUT, as below.
      try {
        await this.store.put(blobKey(cid), bytes, { ifAbsent: true, sha256: digestOfCid(cid) });
        this.uploaded(cid, bytes);
      } catch (err) {
        if (!isO3mlError(err, "ALREADY_EXISTS")) throw err;
        this.deduplicated(cid, bytes.byteLength);
      }
      return;
    }
    if (await this.known.has(cid)) {
      this.deduplicated(cid, bytes.byteLength);
      return;
    }
    await this.store.put(blobKey(cid), bytes, { sha256: digestOfCid(cid) });
    this.uploaded(cid, bytes);
  }

  private uploaded(cid: string, bytes: Uint8Array): void {
    this.known.add(cid);
    // Counted on as a reused one is: two collections that both listed an older copy could delete this fresh one too.
    this.lease?.relied(blobKey(cid));
    this.bytesUploaded += bytes.byteLength;
  }

  private deduplicated(cid: string, size: number): void {
    this.known.add(cid);
    this.lease?.relied(blobKey(cid));
    this.bytesDeduplicated += size;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }
}
