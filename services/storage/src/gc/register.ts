import type { Server } from "@grpc/grpc-js";
import { grpcService } from "@o3ml/proto";
import type { ServiceDeps } from "../service-deps.js";
import { adminService } from "./admin-service.js";
import { GarbageCollector } from "./garbage-collector.js";

/** Adds the AdminService (garbage collection, the co-location handshake) to `server`. */
export function registerAdmin(server: Server, deps: ServiceDeps): { close(): Promise<void> } {
  const gc = new GarbageCollector(deps.store, deps.known, deps.objects.manifests, deps.ctx.log);
  server.addService(grpcService("AdminService"), adminService(gc, deps.host, deps.opts.chunkSize, deps.ctx));
  return { close: async () => {} };
}
