import { mapLimit, type BlobStore } from "@o3ml/o3-client";
import { O3mlError, isO3mlError } from "@o3ml/errors";
import { ulid } from "ulidx";
import { CondemnedLists } from "./gc/condemned.js";
import { blobKey, GC_EPOCH_KEY, manifestKey } from "./layout.js";

/**
 * The CIDs one commit counts on, from its first upload until its ref is
 * written (or it fails), and their keys (uploaded or found already stored).
 */
export interface BlobLease {
  add(cid: string): void;
  /** The commit counts on `key` (a blob or manifest), uploaded by it or found stored. */
  relied(key: string): void;
  /**
   * Call right before the commit's ref is written (and write it at once):
   * fails the commit when a garbage collection in progress anywhere on the
   * bucket condemned a key it counts on, and, when a collection began since
   * this commit started, checks every key it counts on again, failing the
   * commit if one is missing.
   */
  confirm(what: string): Promise<void>;
  /**
   * Starts the bucket reads of `confirm` (the condemned lists, then the epoch) now, while the
   * commit's last uploads are still in flight, instead of after them: a small put then waits for
   * them once, beside its blob PUT. `confirm` judges every key the commit counts on by then
   * against what these reads found, and reads again when they began more than
   * CONFIRM_WITHIN_MS before the end of its checks: the fence counts from the reads' start.
   */
  readAhead(): void;
  release(): void;
}

/** What `confirm` judges a commit against: the condemned lists, then the epoch, read from `started` on. */
interface BucketSnapshot {
  started: number;
  condemned: Map<string, string>;
  generation: number;
}

/** What garbage collection saw leased since it started (see KnownBlobs.watch). */
export interface LeaseWatch {
  has(cid: string): boolean;
  stop(): void;
}

/** How long `has` trusts the gc epoch it last read before it reads it again. */
const EPOCH_TTL_MS = 1000;

/**
 * How long a collection waits between writing its condemned list (and a new
 * gc epoch) and marking again before its first deletion. A commit reads the
 * lists right before it writes its ref, so a commit that read them before
 * the list was written has written its ref long before this has passed
 * (unless its single ref PUT alone takes longer), and the second mark sees it.
 */
export const GC_FENCE_MS = 10_000;

/**
 * A confirmation that took longer than this is done again: the fence of a
 * collection that condemned keys just after the confirmation read the lists
 * must outlast the confirmation plus the ref PUT that follows it.
 */
const CONFIRM_WITHIN_MS = GC_FENCE_MS / 2;

/**
 * Which blobs the store already holds, and which blobs (and manifests, by
 * CID) writers in this process are counting on. Blobs are immutable and named
 * by their hash, so a positive answer stays true until some `o3ml gc` deletes
 * the blob; a negative one is always re-checked with HEAD.
 *
 * Garbage collection may run in any process on the bucket, so "stored" is
 * remembered only per gc epoch: every collection writes the keys it is about
 * to delete (gc/condemned.ts), rewrites the bucket's epoch object
 * (GC_EPOCH_KEY), waits GC_FENCE_MS, marks again, deletes, and rewrites the
 * epoch once more before it removes its condemned list. `has` re-reads the
 * epoch at most every EPOCH_TTL_MS and forgets every remembered blob when it
 * changed; a commit, right before its ref (BlobLease.confirm), fails if a
 * condemned list names anything it counts on, then re-reads the epoch and
 * re-checks every key it counts on when it changed. docs/architecture.md
 * (Garbage collection) gives the argument why no committed blob is lost.
 *
 * Leases close the same race within this process without any wait: gc
 * deletes only CIDs that no commit leased while it ran, and a writer that
 * asks about a CID while gc is deleting it waits for the deletion, then
 * finds it absent and uploads it again.
 */
export class KnownBlobs {
  private readonly present = new Set<string>();
  private readonly leased = new Map<string, number>();
  private readonly watches = new Set<Set<string>>();
  private readonly deleting = new Map<string, Promise<void>>();
  private readonly condemned: CondemnedLists;
  /** The epoch last read from the bucket ("" when there is none yet); undefined before the first read. */
  private epoch: string | undefined;
  /** Bumped whenever the epoch read differs from the one before. */
  private generation = 0;
  private epochReadAt = 0;
  private epochRead: Promise<number> | undefined;

  constructor(
    private readonly store: BlobStore,
    private readonly max = 1_000_000,
  ) {
    this.condemned = new CondemnedLists(store);
  }

  async has(cid: string): Promise<boolean> {
    if (await this.remembers(cid)) return true;
    const head = await this.store.head(blobKey(cid));
    if (head) this.add(cid);
    return head !== undefined;
  }

  /**
   * True when `cid` is remembered as stored in the current gc epoch: no
   * request to the store. False means "ask the store", not "absent". Waits
   * for a deletion of `cid` by gc in this process first.
   */
  async remembers(cid: string): Promise<boolean> {
    await this.deletion(cid);
    if (!this.present.has(cid)) return false;
    await this.currentGeneration();
    return this.present.has(cid);
  }

  /**
   * The generation of the gc epoch, read again when the last read is older
   * than EPOCH_TTL_MS: a memory of "stored" taken in another generation is void.
   */
  async currentGeneration(): Promise<number> {
    if (this.epoch === undefined || Date.now() - this.epochReadAt > EPOCH_TTL_MS) {
      // Readers arriving together share one read: this is only an optimisation, commits check again.
      this.epochRead ??= this.readEpoch().finally(() => (this.epochRead = undefined));
      await this.epochRead;
    }
    return this.generation;
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

  /** Reads the bucket's gc epoch now and returns the generation it belongs to. */
  async readEpoch(): Promise<number> {
    const started = Date.now();
    let epoch = "";
    try {
      epoch = Buffer.from(await this.store.get(GC_EPOCH_KEY)).toString("utf8");
    } catch (err) {
      if (!isO3mlError(err, "NOT_FOUND")) throw err;
    }
    if (epoch !== this.epoch) {
      if (this.epoch !== undefined) this.present.clear();
      this.epoch = epoch;
      this.generation++;
    }
    this.epochReadAt = Math.max(this.epochReadAt, started);
    return this.generation;
  }

  /**
   * Starts a new gc epoch: every service (this one included) stops trusting
   * what it remembered as stored. Called by a collection before it deletes.
   */
  async newEpoch(): Promise<void> {
    await this.store.put(GC_EPOCH_KEY, Buffer.from(ulid(), "utf8"));
    await this.readEpoch();
  }

  lease(): BlobLease {
    const mine = new Set<string>();
    const relied = new Set<string>();
    // The generation this commit's answers belong to; read lazily, so a put costs no extra request up front.
    let since: number | undefined = this.epoch === undefined ? undefined : this.generation;
    const snapshot = async (): Promise<BucketSnapshot> => {
      const started = Date.now();
      // The lists first, the epoch after: a list gone by now belongs to a collection whose
      // last epoch is already written, so the epoch read below has changed and the HEADs catch its deletions.
      const condemned = await this.condemned.current();
      return { started, condemned, generation: await this.readEpoch() };
    };
    let ahead: Promise<BucketSnapshot> | undefined;
    return {
      add: (cid) => {
        if (mine.has(cid)) return;
        mine.add(cid);
        this.leased.set(cid, (this.leased.get(cid) ?? 0) + 1);
        for (const w of this.watches) w.add(cid);
      },
      relied: (key) => void relied.add(key),
      confirm: async (what) => {
        for (;;) {
          // Keys counted on after the snapshot began are judged by it too. A collection whose
          // list it missed wrote that list after `started`, so its second mark comes a fence
          // later, after this commit's ref; one whose list was already gone has deleted
          // everything it would, and the HEADs below, made now, find what it took.
          const read = ahead ?? snapshot();
          ahead = undefined;
          const { started, condemned, generation: now } = await read;
          const counted = [...relied, ...[...mine].flatMap((cid) => [blobKey(cid), manifestKey(cid)])];
          const hit = [...new Set(counted.filter((k) => condemned.has(k)))];
          if (hit.length) {
            throw new O3mlError(
              "ABORTED",
              `${what}: a garbage collection on bucket ${this.store.bucket} is deleting ${hit.length} stored item(s) this commit uses (${hit.slice(0, 3).join(", ")}${hit.length > 3 ? ", …" : ""}; see ${condemned.get(hit[0]!)}); nothing was committed — run it again`,
            );
          }
          if (since !== now && relied.size > 0) {
            const missing = (await mapLimit([...relied], 16, async (key) => ((await this.store.head(key)) ? undefined : key))).filter((k): k is string => k !== undefined);
            if (missing.length) {
              throw new O3mlError(
                "ABORTED",
                `${what}: a garbage collection on bucket ${this.store.bucket} removed ${missing.length} stored item(s) this commit uses (${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""}) while it ran; nothing was committed — run it again`,
              );
            }
          }
          since = now;
          if (Date.now() - started < CONFIRM_WITHIN_MS) return;
        }
      },
      readAhead: () => {
        if (ahead) return;
        ahead = snapshot();
        ahead.catch(() => undefined); // reported by confirm, if it is ever called
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
