import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import { isCid } from "@o3ml/integrity";
import { setTimeout as sleep } from "node:timers/promises";
import { GC_FENCE_MS, type KnownBlobs, type LeaseWatch } from "../known-blobs.js";
import { blobKey, manifestKey, ROOT } from "../layout.js";
import type { Logger } from "../logger.js";
import type { ManifestStore } from "../manifest-store.js";
import { mapLimit } from "../map-limit.js";
import { GraceObservations } from "./grace-observations.js";
import { markReachable } from "./reachability.js";

export interface Counts {
  count: number;
  bytes: number;
}

export interface GcReport {
  dryRun: boolean;
  graceSeconds: number;
  liveBlobs: Counts;
  liveManifests: Counts;
  /** Deleted, or in a dry run what would be. */
  deletedBlobs: Counts;
  deletedManifests: Counts;
  deletedRefs: number;
  /** Unreachable but kept: not yet unreachable for the grace period, or leased by a commit in progress. */
  pendingBlobs: Counts;
  pendingManifests: Counts;
  brokenNames: string[];
  liveRefs: number;
  logEvents: number;
  durationMs: number;
}

export interface GcOptions {
  dryRun: boolean;
  graceMs: number;
  onProgress?: (p: { phase: "mark" | "sweep"; doneBytes: number; totalBytes: number }) => void;
}

/** The default grace period: an hour, longer than any single upload should take. */
export const DEFAULT_GRACE_MS = 3600_000;

/**
 * `o3ml gc`: deletes blobs and manifests nothing reaches (every version of
 * each: BlobStore.delete removes them all, which is what frees space on a
 * versioned store such as O3), then the refs no reader uses any more.
 *
 * Candidates are listed before marking, so anything stored while the
 * collection runs is not even considered. A candidate is deleted only when
 * (1) the mark phase found nothing naming it, (2) it has been unreachable
 * for the grace period (GraceObservations), and (3) no commit in this
 * service leased it since the collection started (KnownBlobs.collect). Before
 * the first deletion it starts a new gc epoch in the bucket, which every
 * service checks before trusting a blob it remembers as stored and before a
 * commit's ref (see KnownBlobs). Only one collection runs at a time per service.
 */
export class GarbageCollector {
  private running = false;
  private readonly observations = new GraceObservations();

  constructor(
    private readonly store: BlobStore,
    private readonly known: KnownBlobs,
    private readonly manifests: ManifestStore,
    private readonly log: Logger,
  ) {}

  async collect(opts: GcOptions): Promise<GcReport> {
    if (this.running) throw new O3mlError("FAILED_PRECONDITION", `a garbage collection of bucket ${this.store.bucket} is already running in this service; wait for it to finish`);
    this.running = true;
    const watch = this.known.watch();
    try {
      return await this.run(opts, watch);
    } finally {
      watch.stop();
      this.running = false;
    }
  }

  private async run(opts: GcOptions, watch: LeaseWatch): Promise<GcReport> {
    const started = Date.now();
    const blobs = await listCids(this.store, `${ROOT}blobs/`);
    const manifests = await listCids(this.store, `${ROOT}manifests/`);
    opts.onProgress?.({ phase: "mark", doneBytes: 0, totalBytes: 0 });
    const reach = await markReachable(this.store, this.manifests, this.log);

    const deadBlobs = [...blobs.keys()].filter((c) => !reach.blobs.has(c));
    const deadManifests = [...manifests.keys()].filter((c) => !reach.manifests.has(c));
    const due = this.observations.observe([...deadBlobs.map(blobKey), ...deadManifests.map(manifestKey)], opts.graceMs);
    const doomed = (cids: string[], key: (c: string) => string) => cids.filter((c) => due.has(key(c)) && !watch.has(c));

    const sweep = { done: 0, total: 0 };
    const blobTargets = doomed(deadBlobs, blobKey);
    const manifestTargets = doomed(deadManifests, manifestKey);
    sweep.total = sum(blobTargets, blobs) + sum(manifestTargets, manifests);
    if (!opts.dryRun && blobTargets.length + manifestTargets.length > 0) {
      // Other services may remember these blobs as stored: a new epoch tells them
      // to check again, and the fence lets any commit that read the old epoch
      // write its ref first. With no grace period (only safe with a single
      // writer, as documented) there is no fence either.
      await this.known.newEpoch();
      await sleep(Math.min(opts.graceMs, GC_FENCE_MS));
    }
    const deleted = async (cids: string[], sizes: Map<string, number>, key: (c: string) => string, after: (c: string) => void) => {
      if (opts.dryRun) return cids;
      const gone = await mapLimit(cids, 8, async (c) => {
        const ok = await this.known.collect(c, watch, () => this.store.delete(key(c)));
        if (ok) {
          after(c);
          this.observations.forget(key(c));
        }
        sweep.done += sizes.get(c)!;
        opts.onProgress?.({ phase: "sweep", doneBytes: sweep.done, totalBytes: sweep.total });
        return ok ? c : undefined;
      });
      return gone.filter((c): c is string => c !== undefined);
    };
    // Blobs first, then the manifests naming them: a collection cut short
    // leaves manifests whose refs are still there to be found next time.
    const goneBlobs = await deleted(blobTargets, blobs, blobKey, () => {});
    const goneManifests = await deleted(manifestTargets, manifests, manifestKey, (c) => this.manifests.forget(c));

    // A superseded ref goes once its manifest is live elsewhere or gone; while
    // the manifest waits out its grace period the ref stays, so the log does
    // not mistake that manifest for a commit that never wrote its ref.
    const goneSet = new Set(goneManifests);
    const waiting = (c: string) => c !== "" && manifests.has(c) && !reach.manifests.has(c) && !goneSet.has(c);
    const older = reach.superseded.filter((r) => !r.marker);
    const olderTargets = older.filter((r) => !waiting(r.manifestCid));
    // A name whose newest ref is a deletion keeps that marker while any older
    // ref of it stays: removing the marker first would make the older ref the
    // newest again and undo the deletion. Markers go after the older refs,
    // and only for names none of whose older refs had to wait.
    const keptNames = new Set(older.filter((r) => waiting(r.manifestCid)).map((r) => r.name));
    const markerTargets = reach.superseded.filter((r) => r.marker && !keptNames.has(r.name));
    if (!opts.dryRun) {
      await mapLimit(olderTargets, 8, (r) => this.store.delete(r.key));
      await mapLimit(markerTargets, 8, (r) => this.store.delete(r.key));
    }
    const refTargets = [...olderTargets, ...markerTargets];

    const goneBlobSet = new Set(goneBlobs);
    const pendingBlobs = deadBlobs.filter((c) => !goneBlobSet.has(c));
    const pendingManifests = deadManifests.filter((c) => !goneSet.has(c));
    const report: GcReport = {
      dryRun: opts.dryRun,
      graceSeconds: Math.round(opts.graceMs / 1000),
      liveBlobs: counts([...blobs.keys()].filter((c) => reach.blobs.has(c)), blobs),
      liveManifests: counts([...manifests.keys()].filter((c) => reach.manifests.has(c)), manifests),
      deletedBlobs: counts(goneBlobs, blobs),
      deletedManifests: counts(goneManifests, manifests),
      deletedRefs: refTargets.length,
      pendingBlobs: counts(pendingBlobs, blobs),
      pendingManifests: counts(pendingManifests, manifests),
      brokenNames: reach.broken,
      liveRefs: reach.liveRefs,
      logEvents: reach.logEvents,
      durationMs: Date.now() - started,
    };
    this.log.info({ ...report, brokenNames: report.brokenNames.length }, opts.dryRun ? "garbage collection (dry run) done" : "garbage collection done");
    return report;
  }
}

/** CID → size of every object under `prefix` named by a CID (anything else there is not o3ml's to delete). */
async function listCids(store: BlobStore, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const o of store.list(prefix)) {
    const cid = o.key.slice(prefix.length);
    if (isCid(cid)) out.set(cid, o.size);
  }
  return out;
}

function sum(cids: string[], sizes: Map<string, number>): number {
  return cids.reduce((n, c) => n + (sizes.get(c) ?? 0), 0);
}

function counts(cids: string[], sizes: Map<string, number>): Counts {
  return { count: cids.length, bytes: sum(cids, sizes) };
}
