import type { BlobStore } from "@o3ml/o3-client";
import type { Host } from "./colocation/host.js";
import type { KnownBlobs } from "@o3ml/repository";
import type { ServiceMetadata } from "./metadata/service-metadata.js";
import type { ObjectRepository } from "./object-repository.js";
import type { RpcContext } from "./rpc-handlers.js";
import type { ServiceOptions } from "./service-options.js";

/** What every gRPC service of the storage service is built from. */
export interface ServiceDeps {
  store: BlobStore;
  known: KnownBlobs;
  objects: ObjectRepository;
  ctx: RpcContext;
  opts: ServiceOptions;
  /** O3ML_HOME: the index and the local cache live here. */
  home: string;
  /** The cache, staging directory and hash threads shared with clients on this host. */
  host: Host;
  /** The event log in the bucket and the index built from it. */
  metadata: ServiceMetadata;
}
