import { MetadataClient } from "@o3ml/storage-service";
import { fail } from "./output.js";

/**
 * Wraps a command action that talks to the MetadataService: one client for
 * the call, and any failure reported as an o3ml error with its exit code
 * (as JSON on stdout too when `machine(args)` says the output is for machines).
 */
export function withMetadataClient<A extends unknown[]>(machine: (...args: A) => boolean, fn: (c: MetadataClient, ...args: A) => Promise<void>) {
  return async (...args: A) => {
    const client = new MetadataClient();
    try {
      await fn(client, ...args);
    } catch (err) {
      fail(err, machine(...args));
    } finally {
      client.close();
    }
  };
}
