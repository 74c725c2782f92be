import { mapLimit, type BlobStore } from "@o3ml/o3-client";
import type { Logger } from "../logger.js";
import { blobKey, manifestKey } from "@o3ml/repository";
import type { ServiceMetadata } from "../metadata/service-metadata.js";

export interface DurabilityTiming {
  /** First look, then doubling up to maxMs between looks. */
  firstMs: number;
  maxMs: number;
  /** Stop following a checkpoint that is still not on the network after this long. */
  giveUpMs: number;
}

export const DURABILITY_TIMING: DurabilityTiming = { firstMs: 250, maxMs: 30_000, giveUpMs: 24 * 3600_000 };

/**
 * Follows committed checkpoints until the store says they reached the
 * network, then records `checkpoint.durable` (docs/o3-vs-s3.md: O3 acknowledges a
 * PUT before the data is on the Akave network; HeadObject's
 * `Network-State: done` says when it is). A checkpoint is durable when its
 * manifest and every blob it names are done; the manifest is written last,
 * so it is watched first and the blobs are checked once it is done.
 *
 * On a store without those headers (the capability probe says so) nothing
 * is followed: `committed` is final there. Following is in memory only; a
 * restarted service resumes it from the index (`resume`).
 */
export class DurabilityTracker {
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private closed = false;
  private supported?: Promise<boolean>;

  constructor(
    private readonly store: BlobStore,
    private readonly metadata: ServiceMetadata,
    private readonly log: Logger,
    private readonly timing: DurabilityTiming = DURABILITY_TIMING,
  ) {}

  track(cid: string, blobs: readonly string[]): void {
    this.follow(cid, [...new Set(blobs)]).catch((err: unknown) =>
      this.log.warn({ cid, err: String(err) }, `stopped following checkpoint ${cid} to the network; it stays 'committed' in the index`),
    );
  }

  /** Whether the store reports network state at all (asked once; retried after a failure). */
  networkHeaders(): Promise<boolean> {
    this.supported ??= this.store.capabilities().then(
      (c) => c.networkHeaders,
      (err: unknown) => {
        this.supported = undefined;
        throw err;
      },
    );
    return this.supported;
  }

  close(): void {
    this.closed = true;
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.wake();
    }
    this.sleepers.clear();
  }

  private async follow(cid: string, blobs: string[]): Promise<void> {
    if (!(await this.networkHeaders())) return;
    const deadline = Date.now() + this.timing.giveUpMs;
    let delay = this.timing.firstMs;
    // Blobs not yet on the network; undefined until the manifest is.
    let pending: string[] | undefined;
    let root: string | null = null;
    while (!this.closed && Date.now() < deadline) {
      await this.sleep(delay);
      if (this.closed) return;
      delay = Math.min(delay * 2, this.timing.maxMs);
      try {
        if (pending === undefined) {
          const head = await this.store.head(manifestKey(cid));
          // Gone: deleted and collected meanwhile; nothing left to follow.
          if (!head) return;
          if (head.networkState !== "done") continue;
          root = head.networkRootCid ?? null;
          pending = blobs;
        }
        const still = await mapLimit(pending, 8, async (b) => ((await this.store.head(blobKey(b)))?.networkState === "done" ? undefined : b));
        pending = still.filter((b): b is string => b !== undefined);
        if (pending.length > 0) continue;
        await this.metadata.record("checkpoint.durable", { checkpointId: cid, networkRootCid: root });
        this.log.debug({ cid, networkRootCid: root }, "checkpoint is durable on the network");
        return;
      } catch (err) {
        // A store hiccup is no reason to give up: look again later.
        this.log.debug({ cid, err: String(err) }, "could not check the network state of a checkpoint; will look again");
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const s = {
        timer: setTimeout(() => {
          this.sleepers.delete(s);
          resolve();
        }, ms),
        wake: resolve,
      };
      s.timer.unref();
      this.sleepers.add(s);
    });
  }
}
