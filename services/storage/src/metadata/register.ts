import type { Server } from "@grpc/grpc-js";
import { grpcService } from "@o3ml/proto";
import type { ServiceDeps } from "../service-deps.js";
import { metadataService } from "./metadata-service.js";

/** Adds the MetadataService (runs, lineage, index rebuild) to `server`. */
export function registerMetadata(server: Server, deps: ServiceDeps): { close(): Promise<void> } {
  server.addService(grpcService("MetadataService"), metadataService(deps.metadata, deps.objects, deps.ctx));
  return { close: async () => {} };
}
