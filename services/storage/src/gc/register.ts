import type { Server } from "@grpc/grpc-js";
import { grpcService } from "@o3ml/proto";
import type { ServiceDeps } from "../service-deps.js";
import { adminService } from "./admin-service.js";
import { storageUsage } from "../usage/storage-usage.js";
import { GarbageCollector } from "./garbage-collector.js";

/** Adds the AdminService (garbage collection, the co-location handshake) to `server`. */
export function registerAdmin(server: Server, deps: ServiceDeps): { close(): Promise<void> } {
  const gc = new GarbageCollector(deps.store, deps.known, deps.objects.manifests, deps.ctx.log);
  const gauges = deps.ctx.metrics.storeUsage;
  const usage = (req: { run?: string | null; dataset?: string | null }) =>
    storageUsage({ store: deps.store, manifests: deps.objects.manifests, index: deps.metadata.index, log: deps.ctx.log }, { run: req.run || undefined, dataset: req.dataset || undefined }, (u) => {
      gauges.logical.set(u.logicalBytes);
      gauges.stored.set(u.storedBytes);
      gauges.shared.set(u.shared.bytes);
      gauges.reclaimable.set(u.reclaimable.bytes);
      gauges.noncurrent.set(u.versions.noncurrent.bytes);
      gauges.total.set(u.totalBytes);
    });
  server.addService(grpcService("AdminService"), adminService(gc, deps.host, deps.opts.chunkSize, deps.ctx, usage));
  return { close: async () => {} };
}
