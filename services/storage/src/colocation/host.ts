import { join } from "node:path";
import { BlobCache, type CacheLease } from "@o3ml/cache";
import { O3mlError } from "@o3ml/errors";
import { cidOfDigest } from "@o3ml/integrity";
import type { BlobStore, O3Config } from "@o3ml/o3-client";
import { CachedBlobs } from "../datasets/cached-blobs.js";
import type { Logger } from "../logger.js";
import type { ServiceMetrics } from "../metrics.js";
import { ChunkBuffers, chunkBufferCount } from "./chunk-buffers.js";
import { FetchPool } from "./fetch-pool.js";
import { HashPool } from "./hash-pool.js";
import { StagingArea } from "./staging-area.js";

/** Where the host's blob cache lives under O3ML_HOME. */
export const cacheDir = (home: string) => join(home, "cache", "blobs");

/**
 * What the service shares with clients on its own host: the verified blob
 * cache (reads), the staging directory (saves), the worker threads that
 * hash files in place and those that fetch blobs into the cache. The
 * directories are opened on first use, so a service whose O3ML_HOME cannot
 * hold them still serves every streaming call.
 */
export class Host {
  readonly hashes: HashPool;
  private readonly fetches: FetchPool;
  /** Blobs of the bucket through the cache: what reads on this host go through. */
  readonly blobs: CachedBlobs;
  private cacheOpen: Promise<BlobCache> | undefined;
  private stagingOpen: Promise<StagingArea> | undefined;

  constructor(
    readonly home: string,
    private readonly cacheBytes: number,
    store: BlobStore,
    /** How the fetch threads reach the store (the configuration `store` was built from), how many fetch at once, and where they count. */
    fetch: { config: O3Config; concurrency: number; metrics?: ServiceMetrics },
    private readonly log: Logger,
    /** Whether co-located saves and puts leave their blobs in the host cache (keepSavedFromEnv). */
    private readonly keepSaved = false,
    /** The service's chunk buffers (server.ts), which staged saves and puts read their chunks into. */
    readonly chunks = new ChunkBuffers(chunkBufferCount(8 * 1024 * 1024)),
  ) {
    this.hashes = new HashPool(chunks);
    this.fetches = new FetchPool(fetch.config, fetch.concurrency, fetch.metrics, log);
    this.blobs = new CachedBlobs(store, () => this.cache(), this.fetches);
  }

  /**
   * A pinned cache file of `cid` that was verified right now: fetched and
   * hashed as it was written, or, when it was there already, hashed again on
   * a worker thread (a file damaged on disk since it was written is fetched
   * again). Whoever reads the path next needs no check of their own.
   */
  async verifiedFile(cid: string, what: string): Promise<CacheLease> {
    const lease = await this.blobs.acquire(cid);
    if (lease.fresh) return lease;
    const { digest } = await this.hashes.file(lease.path).catch(() => ({ digest: new Uint8Array(32) }));
    if (cidOfDigest(digest) === cid) return lease;
    await lease.release();
    this.log.warn({ cid, path: lease.path }, `${what}: the cache file of blob ${cid} no longer matches its CID (damaged on disk); fetching it again from the bucket`);
    return this.blobs.acquire(cid, true);
  }

  /**
   * With O3ML_CACHE_SAVED=1, keeps a blob a save on this host has just hashed
   * (`digest`, its sha2-256) in the host cache, so that a load on this host
   * reads it from there instead of fetching it back. Best effort: a cache
   * that cannot take it costs nothing but that later fetch.
   */
  async keep(cid: string, digest: Uint8Array, bytes: Uint8Array): Promise<void> {
    if (!this.keepSaved) return;
    try {
      await (await this.cache()).put(cid, digest, bytes);
    } catch (err) {
      this.log.debug({ cid, err }, `blob ${cid} was uploaded but not kept in the host cache`);
    }
  }

  cache(): Promise<BlobCache> {
    this.cacheOpen ??= BlobCache.open({ dir: cacheDir(this.home), maxBytes: this.cacheBytes }).catch((err: unknown) => {
      this.cacheOpen = undefined;
      throw err;
    });
    return this.cacheOpen;
  }

  staging(): Promise<StagingArea> {
    this.stagingOpen ??= StagingArea.open(this.home).catch((err: unknown) => {
      this.stagingOpen = undefined;
      throw err;
    });
    return this.stagingOpen;
  }

  async close(): Promise<void> {
    // Fetches first, so no thread still writes into the cache directory once it is closed
    // (a fill cut off here fails, and its temp file is removed).
    await this.fetches.close();
    (await this.stagingOpen?.catch(() => undefined))?.close();
    await (await this.cacheOpen?.catch(() => undefined))?.close();
    await this.hashes.close();
  }

  /** The fetch pool's threads (tests end one mid-fetch). */
  get fetchThreads(): readonly { terminate(): Promise<number> }[] {
    return this.fetches.workerThreads;
  }
}

/**
 * O3ML_CACHE_SAVED: "1" makes co-located saves and puts leave their blobs in
 * the host cache. Off by default: a load served from there does not read the
 * bucket, so damage done in the bucket after the save goes unseen by loads
 * on this host (`o3ml verify` and every other host still find it).
 */
export function keepSavedFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.O3ML_CACHE_SAVED ?? "").trim().toLowerCase();
  if (v === "" || v === "0" || v === "false" || v === "no" || v === "off") return false;
  if (v === "1" || v === "true" || v === "yes" || v === "on") return true;
  throw new O3mlError("INVALID_ARGUMENT", `O3ML_CACHE_SAVED must be 1 or 0 (true/false), got ${JSON.stringify(env.O3ML_CACHE_SAVED)}; unset it to keep the default (off)`);
}
