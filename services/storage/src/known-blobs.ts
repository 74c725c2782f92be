import type { BlobStore } from "@o3ml/o3-client";
import { blobKey } from "./layout.js";

/**
 * Which blobs the store already holds. Blobs are immutable and named by their
 * hash, so a positive answer never goes stale (until `o3ml gc`, which calls
 * `forget`); a negative one is always re-checked with HEAD.
 */
export class KnownBlobs {
  private readonly present = new Set<string>();

  constructor(
    private readonly store: BlobStore,
    private readonly max = 1_000_000,
  ) {}

  async has(cid: string): Promise<boolean> {
    if (this.present.has(cid)) return true;
    const head = await this.store.head(blobKey(cid));
    if (head) this.add(cid);
    return head !== undefined;
  }

  add(cid: string): void {
    // A bounded set: when full, start over rather than grow without limit.
    if (this.present.size >= this.max) this.present.clear();
    this.present.add(cid);
  }

  forget(cid: string): void {
    this.present.delete(cid);
  }
}
