import { mkdir, stat, unlink, utimes } from "node:fs/promises";
import { resolve } from "node:path";
import { O3mlError } from "@o3ml/errors";
import { digestOfCid, parseCid, toHex } from "@o3ml/integrity";
import { entryPath } from "./cache-names.js";
import { scanDirectory, pinnedNow, type EntryStat } from "./cache-scan.js";
import { asCacheError, fileMatches, newTempPath, writeKnownEntry, writeVerifiedEntry } from "./entry-writer.js";
import { tryLock, unlock, waitUnlocked } from "./evict-lock.js";
import { PinTable } from "./pin-table.js";

/** How long this instance's count of the directory's bytes is trusted before it lists it again. */
const RESCAN_MS = 2_000;

export interface BlobCacheOptions {
  /** The directory of entries, e.g. `${O3ML_HOME}/cache/blobs`; created when missing. */
  dir: string;
  /** Cap on the bytes of all entries; exceeded only while pins hold more. */
  maxBytes: number;
}

/** One use of a cached blob: the file at `path` stays until `release()`. */
export interface CacheLease {
  readonly cid: string;
  /** Absolute path of the verified entry. */
  readonly path: string;
  readonly size: number;
  /** True when this acquire fetched the bytes (and verified them as they were written). */
  readonly fresh: boolean;
  /** Unpins the entry (idempotent); it may then be evicted. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Where the bytes come from, for error messages (e.g. "o3ml/v1/blobs/<cid> in bucket b"). */
  what?: string;
  /** Fetch and verify the blob again even when an entry exists (the entry is replaced). */
  refresh?: boolean;
}

/** Opens the bytes of a blob on a cache miss. */
export type BlobSource = () => Promise<AsyncIterable<Uint8Array>>;

/**
 * Fills a cache miss itself, for a caller that fetches elsewhere (on a worker
 * thread): `fill` writes the blob's bytes to `tmp` while hashing them, renames
 * `tmp` to `entry` only when they hash to `cid` (writeVerifiedFile does both),
 * and resolves to the size. Whatever it leaves at `tmp` when it fails, the
 * cache removes, so a fill that dies half-way leaves no file behind.
 */
export interface BlobFiller {
  fill(cid: string, tmp: string, entry: string, what: string): Promise<number>;
}

/**
 * The local content-addressed cache of one host (README.md states its
 * contracts). Many instances, in one process or several, may share a
 * directory: coordination is only through atomic file operations.
 */
export class BlobCache {
  private table = new Map<string, EntryStat>();
  /** Entries this instance wrote or re-hashed: trusted for the rest of its life. */
  private readonly verified = new Set<string>();
  private readonly filling = new Map<string, Promise<number>>();
  private evicting: Promise<void> | undefined;
  /** When the directory was last listed (other processes add entries this instance does not see). */
  private scannedAt = 0;
  private readonly pins: PinTable;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {
    this.pins = new PinTable(dir);
  }

  static async open(opts: BlobCacheOptions): Promise<BlobCache> {
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 0) {
      throw new O3mlError("INVALID_ARGUMENT", `the cache cap must be a whole number of bytes, got ${opts.maxBytes}`);
    }
    const cache = new BlobCache(resolve(opts.dir), opts.maxBytes);
    await mkdir(cache.dir, { recursive: true });
    cache.table = (await scanDirectory(cache.dir)).entries;
    cache.scannedAt = Date.now();
    return cache;
  }

  /**
   * Pins `cid` and makes sure a verified entry exists, fetching it from
   * `source` on a miss. Concurrent misses of one CID in this instance share
   * one fetch; across processes each fetches and the renames agree.
   */
  async acquire(cid: string, source: BlobSource | BlobFiller, opts: AcquireOptions = {}): Promise<CacheLease> {
    try {
      return await this.acquireOnce(cid, source, opts);
    } catch (err) {
      // The directory was removed under a running cache (`rm -rf ~/.o3ml/cache`): make it again
      // and try once more. Acquires side by side all meet its absence, and only the first to get
      // here makes it: the others find it made (by this instance or another) and try again too.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      if ((await mkdir(this.dir, { recursive: true })) !== undefined) {
        this.table.clear();
        this.verified.clear();
      }
      return this.acquireOnce(cid, source, opts);
    }
  }

  private async acquireOnce(cid: string, source: BlobSource | BlobFiller, opts: AcquireOptions): Promise<CacheLease> {
    parseCid(cid); // also keeps anything but a CID out of file names
    try {
      await this.pins.pin(cid);
    } catch (err) {
      await this.pins.unpin(cid); // the count goes back down, and no pin file stays behind
      throw err;
    }
    try {
      await waitUnlocked(this.dir, cid);
      let size = opts.refresh ? undefined : await this.present(cid);
      const miss = size === undefined;
      if (size === undefined) size = await this.fill(cid, source, opts.what ?? `blob ${cid}`);
      const path = entryPath(this.dir, cid);
      const now = new Date();
      await utimes(path, now, now).catch(() => undefined);
      this.table.set(cid, { size, usedMs: now.getTime() });
      // Whoever adds bytes enforces the cap; a hit adds none. Listing the directory
      // after every miss would cost more than the fetch for small blobs: it is listed
      // when this instance's own count passes the cap, or when its count is stale.
      if (miss && (this.stats().bytes > this.maxBytes || Date.now() - this.scannedAt > RESCAN_MS)) await this.evictIfOver();
      return this.lease(cid, path, size, miss);
    } catch (err) {
      await this.pins.unpin(cid);
      throw err;
    }
  }

  /**
   * Adds an entry from bytes the caller holds and has hashed: `digest` is
   * their sha2-256, which must be `cid`'s. A blob a save on this host has just
   * uploaded is then read back from here without a fetch. Nothing is written
   * when an entry exists or the blob alone exceeds the cap.
   */
  async put(cid: string, digest: Uint8Array, bytes: Uint8Array): Promise<void> {
    if (toHex(digestOfCid(cid)) !== toHex(digest)) {
      throw new O3mlError("INTERNAL", `cache put of blob ${cid}: the bytes given hash to ${toHex(digest)}, not to the CID; nothing was cached`, { cid });
    }
    if (bytes.byteLength > this.maxBytes || (await this.has(cid))) return;
    await writeKnownEntry(this.dir, cid, bytes);
    this.verified.add(cid);
    this.table.set(cid, { size: bytes.byteLength, usedMs: Date.now() });
    if (this.stats().bytes > this.maxBytes) await this.evictIfOver();
  }

  /** True when an entry for `cid` is on disk (not necessarily verified by this instance yet). */
  async has(cid: string): Promise<boolean> {
    parseCid(cid);
    return stat(entryPath(this.dir, cid)).then((s) => s.isFile(), () => false);
  }

  /** What this instance knows: entries and bytes as of its last look at the directory. */
  stats(): { entries: number; bytes: number; maxBytes: number; pinned: number } {
    let bytes = 0;
    for (const e of this.table.values()) bytes += e.size;
    return { entries: this.table.size, bytes, maxBytes: this.maxBytes, pinned: this.pins.size };
  }

  /** Releases every pin this instance holds. */
  async close(): Promise<void> {
    await this.pins.clear();
  }

  /** Deletes least recently used, unpinned entries until the directory is under the cap. */
  async evictIfOver(): Promise<void> {
    this.evicting ??= this.evict().finally(() => (this.evicting = undefined));
    await this.evicting;
  }

  private lease(cid: string, path: string, size: number, fresh: boolean): CacheLease {
    let released = false;
    return {
      cid,
      path,
      size,
      fresh,
      release: async () => {
        if (released) return;
        released = true;
        await this.pins.unpin(cid);
        // Pins may have kept the cache over its cap; best effort, as the next insert retries.
        if (this.stats().bytes > this.maxBytes) await this.evictIfOver().catch(() => undefined);
      },
    };
  }

  /** The size of a usable entry, re-hashing one this instance has not verified; undefined on a miss. */
  private async present(cid: string): Promise<number | undefined> {
    const path = entryPath(this.dir, cid);
    const s = await stat(path).catch(() => undefined);
    if (!s?.isFile()) return undefined;
    if (!this.verified.has(cid)) {
      if (!(await fileMatches(path, cid))) {
        // Damaged on disk: a verified copy will replace it through an atomic rename.
        await unlink(path).catch(() => undefined);
        return undefined;
      }
      this.verified.add(cid);
    }
    return s.size;
  }

  private fill(cid: string, source: BlobSource | BlobFiller, what: string): Promise<number> {
    let p = this.filling.get(cid);
    if (!p) {
      p = (typeof source === "function" ? (async () => writeVerifiedEntry(this.dir, cid, await source(), what))() : this.fillBy(source, cid, what))
        .then((size) => (this.verified.add(cid), size))
        .finally(() => this.filling.delete(cid));
      this.filling.set(cid, p);
    }
    return p;
  }

  private async fillBy(filler: BlobFiller, cid: string, what: string): Promise<number> {
    const tmp = newTempPath(this.dir);
    try {
      return await filler.fill(cid, tmp, entryPath(this.dir, cid), what);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw asCacheError(err, this.dir);
    }
  }

  private async evict(): Promise<void> {
    const { entries, pinned } = await scanDirectory(this.dir);
    this.table = entries;
    this.scannedAt = Date.now();
    let total = 0;
    for (const e of entries.values()) total += e.size;
    if (total <= this.maxBytes) return;
    const candidates = [...entries]
      .filter(([cid]) => !pinned.has(cid) && !this.pins.holds(cid))
      .sort((a, b) => a[1].usedMs - b[1].usedMs);
    const chosen: [string, EntryStat][] = [];
    let projected = total;
    for (const c of candidates) {
      if (projected <= this.maxBytes) break;
      if (await tryLock(this.dir, c[0])) {
        chosen.push(c);
        projected -= c[1].size;
      }
    }
    try {
      // Listed after the locks are taken: a pin made before this listing is
      // seen here; one made after it waits for the lock and then finds no entry.
      const stillPinned = await pinnedNow(this.dir);
      for (const [cid] of chosen) {
        if (stillPinned.has(cid) || this.pins.holds(cid)) continue;
        await unlink(entryPath(this.dir, cid)).catch(() => undefined);
        this.table.delete(cid);
        this.verified.delete(cid);
      }
    } finally {
      await Promise.all(chosen.map(([cid]) => unlock(this.dir, cid)));
    }
  }
}
