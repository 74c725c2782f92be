import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Sample, SampleMember } from "./sample.js";

const WRITE_BATCH = 1024 * 1024;

/**
 * Holds the samples of a push until they are packed in shard order. A member
 * a source read from disk on demand (`open`) is kept as it is; a member whose
 * bytes the source made in memory (the rows of an .npy, .npz or .csv input)
 * is written to one file in the push's temp folder and read back from there
 * when packed, so memory holds only the samples' descriptions, not the data.
 */
export class SampleSpool {
  private batch: Uint8Array[] = [];
  private batched = 0;
  private size = 0;

  private constructor(private readonly fh: FileHandle) {}

  static async create(dir: string): Promise<SampleSpool> {
    return new SampleSpool(await open(join(dir, "spool.bin"), "wx+"));
  }

  /** The sample as it will be read when packed. */
  async hold(sample: Sample): Promise<Sample> {
    if (sample.members.every((m) => !m.bytes)) return sample;
    const members: SampleMember[] = [];
    for (const m of sample.members) {
      if (!m.bytes) {
        members.push(m);
        continue;
      }
      const at = this.size;
      const length = m.bytes.byteLength;
      this.batch.push(m.bytes);
      this.batched += length;
      this.size += length;
      if (this.batched >= WRITE_BATCH) await this.flush();
      members.push({ ext: m.ext, size: m.size, origin: m.origin, open: () => this.read(at, length) });
    }
    return { key: sample.key, split: sample.split, members };
  }

  /** Writes what is still batched; call once every sample is held, before reading any. */
  async flush(): Promise<void> {
    if (this.batched === 0) return;
    const batch = this.batch;
    const at = this.size - this.batched;
    this.batch = [];
    this.batched = 0;
    await this.fh.writev(batch, at);
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  private async *read(at: number, length: number): AsyncGenerator<Uint8Array> {
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.fh.read(buf, 0, length, at);
    yield buf.subarray(0, bytesRead);
  }
}
