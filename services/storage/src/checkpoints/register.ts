import type { Server } from "@grpc/grpc-js";
import type { ServiceDeps } from "../service-deps.js";

/** Adds the CheckpointService to `server`. */
export function registerCheckpoints(_server: Server, _deps: ServiceDeps): { close(): Promise<void> } {
  return { close: async () => {} };
}
