import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import { O3mlError } from "@o3ml/errors";
import type { o3ml } from "@o3ml/proto";
import type { Host } from "../colocation/host.js";
import { serverStream, unary, writeMessage, type RpcContext } from "../rpc-handlers.js";
import type { StorageUsage } from "../usage/storage-usage.js";
import { DEFAULT_GRACE_MS, type GarbageCollector } from "./garbage-collector.js";

type Request = o3ml.v1.CollectGarbageRequest.$Properties;

/** Sweep progress is sent at most this often: the report is what matters. */
const PROGRESS_EVERY_MS = 250;

/** The AdminService handlers. */
export function adminService(
  gc: GarbageCollector,
  host: Host,
  chunkSize: number,
  ctx: RpcContext,
  usage: (req: o3ml.v1.StorageUsageRequest.$Properties) => Promise<StorageUsage>,
): UntypedServiceImplementation {
  return {
    storageUsage: unary(ctx, "Admin.StorageUsage", async (req: o3ml.v1.StorageUsageRequest.$Properties) => usageReport(await usage(req))),

    colocate: unary(ctx, "Admin.Colocate", async (req: o3ml.v1.ColocateRequest.$Properties) => {
      const staging = await host.staging();
      if (!req.probe) return { stagingDir: staging.dir, ...(await staging.challenge()), colocated: false, chunkSize };
      const colocated = await staging.answer(req.probe, req.challenge ?? new Uint8Array(0), req.answer ?? new Uint8Array(0));
      return { stagingDir: staging.dir, probe: req.probe, colocated, chunkSize };
    }),

    collectGarbage: serverStream(ctx, "Admin.CollectGarbage", async (req: Request, call) => {
      const graceSeconds = req.hasGraceSeconds ? Number(req.graceSeconds ?? 0) : DEFAULT_GRACE_MS / 1000;
      if (!Number.isSafeInteger(graceSeconds) || graceSeconds < 0) {
        throw new O3mlError("INVALID_ARGUMENT", `gc: grace period ${graceSeconds} s is not a whole number of seconds >= 0`);
      }
      let last = 0;
      const report = await gc.collect({
        dryRun: !!req.dryRun,
        graceMs: graceSeconds * 1000,
        onProgress: (p) => {
          const now = Date.now();
          if (now - last < PROGRESS_EVERY_MS || call.cancelled) return;
          last = now;
          // Not awaited: progress must never slow the sweep; at this rate a slow reader buffers a few small messages.
          call.write({ progress: p });
        },
      });
      await writeMessage(call, { report });
    }),
  };
}

function usageReport(u: StorageUsage): o3ml.v1.StorageUsageReport.$Properties {
  return {
    selection: u.selection,
    items: u.items,
    logicalBytes: u.logicalBytes,
    blobs: u.blobs,
    manifests: u.manifests,
    refs: u.refs,
    storedBytes: u.storedBytes,
    shared: u.shared,
    reclaimableBlobs: u.reclaimable.blobs,
    reclaimableManifests: u.reclaimable.manifests,
    reclaimableRefs: u.reclaimable.refs,
    reclaimableBytes: u.reclaimable.bytes,
    versioned: u.versions.versioned,
    noncurrentVersions: u.versions.noncurrent,
    deleteMarkers: u.versions.deleteMarkers,
    log: u.log,
    other: u.other,
    totalBytes: u.totalBytes,
  };
}
