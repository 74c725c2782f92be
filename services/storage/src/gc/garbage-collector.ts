import { mapLimit, type BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import { isCid } from "@o3ml/integrity";
import { setTimeout as sleep } from "node:timers/promises";
import { GC_FENCE_MS, type KnownBlobs, type LeaseWatch, blobKey, manifestKey, BLOBS_PREFIX, MANIFESTS_PREFIX, REFS_PREFIX, type ManifestStore, bucketNow, condemn, removeStaleCondemned, SWEEP_LIMIT_MS, type Condemned } from "@o3ml/repository";
import type { Logger } from "../logger.js";
import { GraceMarks } from "./grace-marks.js";
import { keyRemover } from "./key-remover.js";
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
 * `o3ml gc`: deletes blobs and manifests nothing reaches (every version and
 * delete marker of each, which is what frees space on a versioned store such
 * as O3), then the refs no reader uses any more. Any number of collections
 * may run at once, in any processes on any hosts (docs/architecture.md,
 * Garbage collection, says why that is safe):
 *
 * 1. Read the bucket's clock (bucket-clock.ts); drop condemned lists of
 *    collections that died (condemned.ts).
 * 2. List the candidates, then mark (reachability.ts): anything stored while
 *    the collection runs is not even considered.
 * 3. A candidate is due when it has been unreachable for the grace period
 *    by the marks in the bucket (grace-marks.ts), its LastModified is at least
 *    the grace period old (so a blob uploaded for a commit still in progress
 *    is kept, however new the marks), and no commit in this service leased it
 *    (KnownBlobs.collect).
 * 4. Write the due keys as a condemned list, start a new gc epoch, wait the
 *    fence (GC_FENCE_MS), mark again and spare what is reachable now.
 * 5. Delete, start another gc epoch, remove the condemned list, save the marks.
 *
 * Only one collection runs at a time per service.
 */
export class GarbageCollector {
  private running = false;

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
    const now = await bucketNow(this.store);
    if (!opts.dryRun) await removeStaleCondemned(this.store, now, this.log);
    const blobs = await listCids(this.store, BLOBS_PREFIX);
    const manifests = await listCids(this.store, MANIFESTS_PREFIX);
    opts.onProgress?.({ phase: "mark", doneBytes: 0, totalBytes: 0 });
    const reach = await markReachable(this.store, this.manifests, this.log);

    const deadBlobs = [...blobs.keys()].filter((c) => !reach.blobs.has(c));
    const deadManifests = [...manifests.keys()].filter((c) => !reach.manifests.has(c));
    const marks = await GraceMarks.load(this.store);
    const due = marks.observe([...deadBlobs.map(blobKey), ...deadManifests.map(manifestKey)], now, opts.graceMs);
    // LastModified on the same clock: a PUT skipped by dedup keeps the old one, but a
    // skipped PUT is a reuse, which the condemned list and the second mark cover.
    const old = (c: string, listed: Map<string, Listed>) => {
      const at = listed.get(c)?.lastModified;
      return opts.graceMs === 0 || (at !== undefined && now.earliest - at >= opts.graceMs);
    };
    const doomed = (cids: string[], key: (c: string) => string, listed: Map<string, Listed>) =>
      cids.filter((c) => due.has(key(c)) && old(c, listed) && !watch.has(c));

    let blobTargets = doomed(deadBlobs, blobKey, blobs);
    let manifestTargets = doomed(deadManifests, manifestKey, manifests);
    const sweep = { done: 0, total: 0 };
    let condemned: Condemned | undefined;
    let condemnedAt = 0;
    if (!opts.dryRun && blobTargets.length + manifestTargets.length > 0) {
      condemned = await condemn(this.store, [...blobTargets.map(blobKey), ...manifestTargets.map(manifestKey)]);
      condemnedAt = Date.now();
      // Other services may remember these blobs as stored: a new epoch tells them
      // to check again. The fence lets any commit that confirmed before the list
      // was written write its ref first; the second mark then sees that ref.
      // With no grace period (only safe with a single writer, as documented)
      // there is no fence either.
      await this.known.newEpoch();
      if (opts.graceMs > 0) await sleep(GC_FENCE_MS);
      const again = await markReachable(this.store, this.manifests, this.log);
      blobTargets = blobTargets.filter((c) => !again.blobs.has(c));
      manifestTargets = manifestTargets.filter((c) => !again.manifests.has(c));
      for (const c of again.manifests) reach.manifests.add(c);
      for (const c of again.blobs) reach.blobs.add(c);
    }
    sweep.total = sum(blobTargets, blobs) + sum(manifestTargets, manifests);
    const deleted = async (cids: string[], sizes: Map<string, Listed>, key: (c: string) => string, prefix: string, after: (c: string) => void) => {
      if (opts.dryRun) return cids;
      // Listed now, after the second mark: one listing of the prefix's versions where that is fewer requests.
      const remove = await keyRemover(this.store, prefix, cids.map(key), sizes.size);
      const gone = await mapLimit(cids, 8, async (c) => {
        // Past the limit the rest waits for the next collection: after CONDEMNED_TTL_MS
        // another collection may remove this one's condemned list.
        if (Date.now() - condemnedAt > SWEEP_LIMIT_MS) return undefined;
        const ok = await this.known.collect(c, watch, () => remove(key(c)));
        if (ok) {
          after(c);
          marks.forget(key(c));
        }
        sweep.done += sizes.get(c)!.size;
        opts.onProgress?.({ phase: "sweep", doneBytes: sweep.done, totalBytes: sweep.total });
        return ok ? c : undefined;
      });
      return gone.filter((c): c is string => c !== undefined);
    };
    let goneBlobs: string[];
    let goneManifests: string[];
    try {
      // Blobs first, then the manifests naming them: a collection cut short
      // leaves manifests whose refs are still there to be found next time.
      goneBlobs = await deleted(blobTargets, blobs, blobKey, BLOBS_PREFIX, () => {});
      goneManifests = await deleted(manifestTargets, manifests, manifestKey, MANIFESTS_PREFIX, (c) => this.manifests.forget(c));
    } finally {
      if (condemned) {
        // The epoch before the list goes: a commit that finds the list gone then
        // reads a changed epoch and checks again what it reused (KnownBlobs).
        await this.known.newEpoch();
        await condemned.remove();
      }
    }
    if (!opts.dryRun) await marks.save();
    // A superseded ref goes once its manifest is live elsewhere or gone; while
    // the manifest waits out its grace period the ref stays, so an index
    // rebuild still finds the ref of every commit whose data is in the bucket
    // (it counts a commit's event only when its ref is there: commit-order.ts).
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
      const removeRef = await keyRemover(this.store, REFS_PREFIX, [...olderTargets, ...markerTargets].map((r) => r.key), reach.liveRefs + reach.superseded.length);
      await mapLimit(olderTargets, 8, (r) => removeRef(r.key));
      await mapLimit(markerTargets, 8, (r) => removeRef(r.key));
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

type Listed = { size: number; lastModified?: number };


/** CID → size and LastModified of every object under `prefix` named by a CID (anything else there is not o3ml's to delete). */
async function listCids(store: BlobStore, prefix: string): Promise<Map<string, Listed>> {
  const out = new Map<string, Listed>();
  for await (const o of store.list(prefix)) {
    const cid = o.key.slice(prefix.length);
    if (isCid(cid)) out.set(cid, { size: o.size, ...(o.lastModified !== undefined ? { lastModified: o.lastModified } : {}) });
  }
  return out;
}

function sum(cids: string[], sizes: Map<string, Listed>): number {
  return cids.reduce((n, c) => n + (sizes.get(c)?.size ?? 0), 0);
}

function counts(cids: string[], sizes: Map<string, Listed>): Counts {
  return { count: cids.length, bytes: sum(cids, sizes) };
}
