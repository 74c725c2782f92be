import { join } from "node:path";
import type { Server } from "@grpc/grpc-js";
import { BlobCache, cacheBytesFromEnv } from "@o3ml/cache";
import { grpcService } from "@o3ml/proto";
import type { ServiceDeps } from "../service-deps.js";
import { BlobLeases } from "./blob-leases.js";
import { blobService } from "./blob-service.js";
import { CachedBlobs } from "./cached-blobs.js";
import { DatasetRepository } from "./dataset-repository.js";
import { datasetService } from "./dataset-service.js";

/** Where the host's blob cache lives under O3ML_HOME. */
export const cacheDir = (home: string) => join(home, "cache", "blobs");

/**
 * Adds the BlobService and DatasetService to `server`. The cache cap is read
 * now (a bad O3ML_CACHE_BYTES stops the start); the cache directory is opened
 * on first use. Closing releases every lease this service handed out.
 */
export function registerDatasets(server: Server, deps: ServiceDeps): { close(): Promise<void> } {
  const maxBytes = cacheBytesFromEnv();
  let opened: Promise<BlobCache> | undefined;
  const cache = () => (opened ??= BlobCache.open({ dir: cacheDir(deps.home), maxBytes }).catch((err) => ((opened = undefined), Promise.reject(err))));
  const leases = new BlobLeases();
  const blobs = new CachedBlobs(deps.store, cache);
  server.addService(grpcService("BlobService"), blobService({ store: deps.store, known: deps.known, blobs, leases, ctx: deps.ctx }));
  server.addService(grpcService("DatasetService"), datasetService(new DatasetRepository(deps.store, deps.metadata, deps.known), deps.ctx));
  return {
    close: async () => {
      await leases.releaseAll();
      if (opened) await (await opened.catch(() => undefined))?.close();
    },
  };
}
