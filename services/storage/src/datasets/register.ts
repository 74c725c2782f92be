import type { Server } from "@grpc/grpc-js";
import { grpcService } from "@o3ml/proto";
import type { ServiceDeps } from "../service-deps.js";
import { BlobLeases } from "./blob-leases.js";
import { blobService } from "./blob-service.js";
import { datasetPushService } from "./dataset-push.js";
import { DatasetRepository } from "./dataset-repository.js";
import { datasetService } from "./dataset-service.js";

/**
 * Adds the BlobService and DatasetService to `server`. Closing releases every
 * lease this service handed out (the host's cache itself is closed with the host).
 */
export function registerDatasets(server: Server, deps: ServiceDeps): { close(): Promise<void> } {
  const leases = new BlobLeases();
  const blobs = deps.host.blobs;
  server.addService(grpcService("BlobService"), blobService({ store: deps.store, known: deps.known, blobs, leases, ctx: deps.ctx }));
  const repo = new DatasetRepository(deps.store, deps.metadata, deps.known);
  server.addService(grpcService("DatasetService"), {
    ...datasetService(repo, deps.ctx),
    ...datasetPushService({ repo, store: deps.store, known: deps.known, host: deps.host, ctx: deps.ctx }),
  });
  return { close: async () => leases.releaseAll() };
}
