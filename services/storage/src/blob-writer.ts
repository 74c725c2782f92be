import type { BlobStore } from "@o3ml/o3-client";
import { blobKey } from "./layout.js";
import type { BlobLease, KnownBlobs } from "./known-blobs.js";

/**
 * Uploads content-addressed blobs with bounded concurrency and dedup. `write`
 * resolves as soon as the blob is queued, but only while fewer than
 * `concurrency` uploads are in flight: the caller's stream is thereby paused
 * (backpressure), so memory stays bounded by concurrency × blob size.
 * The first failure is kept and rethrown by the next `write` or by `flush`.
 * With a lease, every CID written (uploaded or deduplicated) is leased first,
 * so garbage collection keeps it until the caller's commit releases the lease.
 */
export class BlobWriter {
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown;
  bytesUploaded = 0;
  bytesDeduplicated = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly known: KnownBlobs,
    private readonly concurrency: number,
    private readonly lease?: BlobLease,
  ) {}

  async write(cid: string, bytes: Uint8Array): Promise<void> {
    this.throwIfFailed();
    this.lease?.add(cid);
    while (this.inflight.size >= this.concurrency) {
      await Promise.race(this.inflight);
      this.throwIfFailed();
    }
    const p = this.upload(cid, bytes).then(
      () => void this.inflight.delete(p),
      (err) => {
        this.failure ??= err;
        this.inflight.delete(p);
      },
    );
    this.inflight.add(p);
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
    if (await this.known.has(cid)) {
      this.lease?.relied(blobKey(cid));
      this.bytesDeduplicated += bytes.byteLength;
      return;
    }
    await this.store.put(blobKey(cid), bytes);
    this.known.add(cid);
    this.bytesUploaded += bytes.byteLength;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
