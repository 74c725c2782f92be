import { createReadStream } from "node:fs";
import { unlink } from "node:fs/promises";
import type { DatasetStore } from "./dataset-store.js";
import type { BuiltShard } from "./shard-file.js";

/**
 * Uploads finished shards through BlobService.Put, `concurrency` at a time
 * (one gRPC stream each: a single stream cannot keep up with a fast store,
 * docs/architecture.md, Datasets). `submit` waits while that many are in flight, so at most
 * that many shard files wait on disk. A shard the store already holds (Has)
 * is not sent. Each file is deleted once handled. The first failure is kept
 * and rethrown by the next submit or by flush.
 */
export class ShardUploader {
  private readonly inflight = new Set<Promise<void>>();
  // Boxed, so that a rejection whose reason is undefined is kept as a failure too.
  private failure: { error: unknown } | undefined;
  bytesUploaded = 0;
  shardsAlreadyStored = 0;

  constructor(
    private readonly client: DatasetStore,
    private readonly concurrency: number,
    private readonly onBytes: (n: number) => void = () => {},
  ) {}

  async submit(shard: BuiltShard): Promise<void> {
    this.throwIfFailed();
    while (this.inflight.size >= this.concurrency) {
      await Promise.race(this.inflight);
      this.throwIfFailed();
    }
    const p = this.upload(shard).then(
      () => void this.inflight.delete(p),
      (err) => {
        this.failure ??= { error: err };
        this.inflight.delete(p);
      },
    );
    this.inflight.add(p);
  }

  async flush(): Promise<void> {
    await Promise.all(this.inflight);
    this.throwIfFailed();
  }

  /** Waits for uploads in flight to end, ignoring failures (when giving up). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inflight);
  }

  private async upload(shard: BuiltShard): Promise<void> {
    try {
      const [present] = await this.client.has([shard.cid]);
      if (present) {
        this.shardsAlreadyStored++;
        return;
      }
      await this.client.putBlob(shard.cid, shard.size, createReadStream(shard.path, { highWaterMark: 2 * 1024 * 1024 }), (n) => {
        this.bytesUploaded += n;
        this.onBytes(n);
      });
    } finally {
      await unlink(shard.path).catch(() => undefined);
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }
}
