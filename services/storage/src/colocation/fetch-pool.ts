import type { BlobFiller } from "@o3ml/cache";
import { O3mlError } from "@o3ml/errors";
import type { O3Config } from "@o3ml/o3-client";
import { Piscina } from "piscina";
import type { Logger } from "pino";
import { blobKey } from "@o3ml/repository";
import type { ServiceMetrics } from "../metrics.js";
import type { FetchResult, FetchTask, FetchWorkerData } from "./fetch-worker.js";
import { workerFile } from "./worker-file.js";

/**
 * How long an idle fetch thread is kept. Starting one costs a V8 isolate (and,
 * where a blob must be fetched through the S3 client, loading the SDK: about
 * 0.2 CPU-s on the 2-core host of docs/performance.md), and it holds a heap
 * and connections of its own (tens of MiB once it has fetched): long
 * enough to carry them from one restore to the next, short enough to hand the
 * memory back when reads stop.
 */
const IDLE_MS = 30_000;

/**
 * Fills in flight at most, whatever --concurrency is: each holds a write batch and its
 * response's buffers on the fetch thread, so 64 at once (the highest --concurrency) peaked at
 * 407 MiB where 16 peaked at 343-348 MiB (docs/performance.md, "Service memory"), and on one
 * thread more fills do not receive faster.
 */
const FILLS_AT_ONCE = 16;

/**
 * Fills host-cache entries from the store on worker threads (fetch-worker.ts):
 * each thread GETs the blob with a client of its own, built from the service's
 * store configuration, hashes it while writing it to the entry's temp file,
 * and names the entry only when it matches its CID. The event loop only hands
 * out tasks. `concurrency` (the service's --concurrency, at most FILLS_AT_ONCE) bounds the fetches in
 * flight across all calls, all on one thread (why: where the pool is made), and the
 * rest wait their turn. The thread starts on first use.
 */
export class FetchPool implements BlobFiller {
  private pool: Piscina | undefined;

  constructor(
    private readonly config: O3Config,
    private readonly concurrency: number,
    /** Counted here as meteredStore counts the service's own reads: the threads' clients are not metered. */
    private readonly metrics?: Pick<ServiceMetrics, "storeRequests" | "storeBytesRead">,
    private readonly log?: Pick<Logger, "debug">,
  ) {}

  /** The pool's threads, as Piscina keeps them (tests end one mid-fetch). */
  get workerThreads(): readonly { terminate(): Promise<number> }[] {
    return this.pool?.threads ?? [];
  }

  private get workers(): Piscina {
    this.pool ??= new Piscina({
      filename: workerFile("fetch-worker"),
      workerData: { config: this.config } satisfies FetchWorkerData,
      // One fetch thread: it takes the receive, hash and write off the event loop, so the two run
      // on two cores. Each thread is a V8 isolate of its own whose response buffers are collected
      // late: a second one added about 40 MiB to the service's peak while streaming 2 GiB, which
      // the memory test bounds (python-plugins/tests/e2e/test_memory.py).
      maxThreads: 1,
      minThreads: 0,
      concurrentTasksPerWorker: Math.max(1, Math.min(FILLS_AT_ONCE, this.concurrency)),
      idleTimeout: IDLE_MS,
      // A small young generation: the response buffers' dead handles are found by the next
      // scavenge, which then frees their memory, instead of waiting for a large one to fill.
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    return this.pool;
  }

  async fill(cid: string, tmp: string, entry: string, what: string): Promise<number> {
    this.metrics?.storeRequests.inc({ op: "get" });
    let out: FetchResult;
    try {
      out = await this.workers.run({ cid, key: blobKey(cid), tmp, entry, what } satisfies FetchTask);
    } catch (err) {
      // The thread itself failed (it died, or the pool is closing): the fetch's bytes are lost
      // with it, and the cache removes its temp file (BlobFiller).
      throw new O3mlError("UNAVAILABLE", `fetching blob ${cid} (${what}) into the host cache failed: its worker thread stopped (${(err as Error).message}); nothing was cached, retry`, { cid }, { cause: err });
    }
    this.metrics?.storeBytesRead.inc(out.received);
    if (out.fallback !== undefined) {
      this.metrics?.storeRequests.inc({ op: "get" });
      this.log?.debug({ cid }, `blob ${cid} (${what}) was fetched again through the S3 client: ${out.fallback}`);
    }
    if ("error" in out) throw new O3mlError(out.error.code, out.error.message, out.error.details);
    return out.size;
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.destroy();
  }
}
