import type { Sample } from "./sample.js";
import { segmentLength } from "./sample-segment.js";
import { ShardFile, type BuiltShard } from "./shard-file.js";
import type { ShardUploader } from "./shard-uploader.js";
import { TAR_END } from "./tar-format.js";

/**
 * Packs samples into shards of about `shardSize(split)` bytes, one open shard per
 * split (a shard holds one split, so a reader can pick splits by shard).
 * A shard is closed when the next sample would take it past `shardSize`
 * (a larger sample gets a shard of its own) and handed to the uploader.
 */
export class ShardPacker {
  private readonly open = new Map<string, ShardFile>();
  readonly built: BuiltShard[] = [];

  constructor(
    private readonly dir: string,
    private readonly shardSize: (split: string) => number,
    private readonly uploader: ShardUploader,
    private readonly onBytes: (n: number) => void,
  ) {}

  async add(sample: Sample): Promise<void> {
    let shard = this.open.get(sample.split);
    if (shard && shard.samples.length > 0 && shard.size + segmentLength(sample) + TAR_END.byteLength > this.shardSize(sample.split)) {
      await this.close(sample.split, shard);
      shard = undefined;
    }
    if (!shard) this.open.set(sample.split, (shard = await ShardFile.create(this.dir, sample.split)));
    await shard.add(sample, this.onBytes);
  }

  /** Closes every open shard. */
  async finish(): Promise<void> {
    for (const [split, shard] of [...this.open]) await this.close(split, shard);
  }

  /** Removes the files of shards still open (when the push failed). */
  async discard(): Promise<void> {
    await Promise.all([...this.open.values()].map((s) => s.discard()));
    this.open.clear();
  }

  private async close(split: string, shard: ShardFile): Promise<void> {
    this.open.delete(split);
    const built = await shard.finish();
    this.built.push(built);
    await this.uploader.submit(built);
  }
}
