import { MetadataClient } from "@o3ml/client";
import { clientAction } from "./client-action.js";

/** clientAction for commands that talk to the MetadataService. */
export function withMetadataClient<A extends unknown[]>(machine: (...args: A) => boolean, fn: (c: MetadataClient, ...args: A) => Promise<void>) {
  return clientAction((address) => new MetadataClient(address), fn, machine);
}
