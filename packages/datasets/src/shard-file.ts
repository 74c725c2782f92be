import { randomBytes } from "node:crypto";
import { open, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { cidOfDigest, createSha256, type Sha256 } from "@o3ml/integrity";
import type { Sample } from "./sample.js";
import { segmentChunks } from "./sample-segment.js";
import { TAR_END } from "./tar-format.js";

/** One sample's place in a shard, as the manifest records it. */
export interface SampleRecord {
  key: string;
  offset: number;
  size: number;
  sha256: Uint8Array;
}

/** A finished shard on local disk, named by its CID. */
export interface BuiltShard {
  path: string;
  cid: string;
  size: number;
  split: string;
  samples: SampleRecord[];
}

const WRITE_BATCH = 1024 * 1024;

/**
 * A shard being written: a tar file in a temp directory, hashed as it is
 * written (whole file for the CID, each sample for its digest), so memory
 * stays at one write batch whatever the shard size.
 */
export class ShardFile {
  private readonly shardHash: Sha256 = createSha256();
  private batch: Uint8Array[] = [];
  private batched = 0;
  readonly samples: SampleRecord[] = [];
  size = 0;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    readonly split: string,
  ) {}

  static async create(dir: string, split: string): Promise<ShardFile> {
    const path = join(dir, `shard-${randomBytes(6).toString("hex")}.tar`);
    return new ShardFile(await open(path, "wx"), path, split);
  }

  /** Appends the sample's members; `onBytes` sees every byte written (progress). */
  async add(sample: Sample, onBytes?: (n: number) => void): Promise<void> {
    const sampleHash = createSha256();
    const offset = this.size;
    for await (const chunk of segmentChunks(sample)) {
      sampleHash.update(chunk);
      await this.write(chunk);
      onBytes?.(chunk.byteLength);
    }
    this.samples.push({ key: sample.key, offset, size: this.size - offset, sha256: sampleHash.digest() });
  }

  /** Ends the archive and closes the file. */
  async finish(): Promise<BuiltShard> {
    await this.write(TAR_END);
    await this.flush();
    await this.fh.close();
    const digest = this.shardHash.digest();
    return { path: this.path, cid: cidOfDigest(digest), size: this.size, split: this.split, samples: this.samples };
  }

  async discard(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await unlink(this.path).catch(() => undefined);
  }

  private async write(chunk: Uint8Array): Promise<void> {
    this.shardHash.update(chunk);
    // Safe to hold until the flush: every producer (file streams, headers, member bytes) hands out fresh buffers.
    this.batch.push(chunk);
    this.batched += chunk.byteLength;
    this.size += chunk.byteLength;
    if (this.batched >= WRITE_BATCH) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.batched === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.batched = 0;
    await this.fh.writev(batch);
  }
}
