import type { BlobStore } from "@o3ml/o3-client";
import { blobKey } from "./layout.js";

/** The CIDs one commit counts on, from its first upload until its ref is written (or it fails). */
export interface BlobLease {
  add(cid: string): void;
  release(): void;
}

/** What garbage collection saw leased since it started (see KnownBlobs.watch). */
export interface LeaseWatch {
  has(cid: string): boolean;
  stop(): void;
}

/**
 * Which blobs the store already holds, and which blobs (and manifests, by
 * CID) writers in this process are counting on. Blobs are immutable and named
 * by their hash, so a positive answer never goes stale until `o3ml gc`
 * deletes the blob (it calls `collect`); a negative one is always re-checked
 * with HEAD.
 *
 * Leases close the race between a commit that deduplicates against a blob
 * and a collection deleting that same blob: gc deletes only CIDs that no
 * commit leased while it ran, and a writer that asks about a CID while gc is
 * deleting it waits for the deletion, then finds it absent and uploads it again.
 */
export class KnownBlobs {
  private readonly present = new Set<string>();
  private readonly leased = new Map<string, number>();
  private readonly watches = new Set<Set<string>>();
  private readonly deleting = new Map<string, Promise<void>>();

  constructor(
    private readonly store: BlobStore,
    private readonly max = 1_000_000,
  ) {}

  async has(cid: string): Promise<boolean> {
    await this.deletion(cid);
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

  /** Resolves once a deletion of `cid` by gc in this process (if any) has finished. */
  async deletion(cid: string): Promise<void> {
    await this.deleting.get(cid)?.catch(() => {});
  }

  lease(): BlobLease {
    const mine = new Set<string>();
    return {
      add: (cid) => {
        if (mine.has(cid)) return;
        mine.add(cid);
        this.leased.set(cid, (this.leased.get(cid) ?? 0) + 1);
        for (const w of this.watches) w.add(cid);
      },
      release: () => {
        for (const cid of mine) {
          const n = (this.leased.get(cid) ?? 1) - 1;
          if (n > 0) this.leased.set(cid, n);
          else this.leased.delete(cid);
        }
        mine.clear();
      },
    };
  }

  /** Records every CID leased now or from now on, until stopped. */
  watch(): LeaseWatch {
    const seen = new Set(this.leased.keys());
    this.watches.add(seen);
    return { has: (cid) => seen.has(cid), stop: () => void this.watches.delete(seen) };
  }

  /**
   * Runs `remove` (deleting `cid`'s blob or manifest) unless a commit leased
   * the CID while `watch` ran; false when it was kept. The check and the
   * start of the deletion happen in one turn of the event loop, so a lease
   * taken later sees the deletion in progress and waits for it.
   */
  async collect(cid: string, watch: LeaseWatch, remove: () => Promise<void>): Promise<boolean> {
    if (watch.has(cid) || this.leased.has(cid)) return false;
    this.forget(cid);
    const done = remove();
    this.deleting.set(cid, done);
    try {
      await done;
      return true;
    } finally {
      if (this.deleting.get(cid) === done) this.deleting.delete(cid);
    }
  }
}
