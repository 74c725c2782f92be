import type { WireDatasetManifest, WireVersionInfo } from "@o3ml/client";
import type { o3ml } from "@o3ml/proto";

/** The service calls a push makes, as an interface that the storage service implements in process (services/storage/src/datasets/dataset-push.ts); DatasetClient satisfies it as it is. */
export interface DatasetStore {
  /** The versions of dataset `name`. */
  list(name: string): Promise<WireVersionInfo[]>;
  /** The version a spec (`name@version`, `name@latest`) names, with its manifest. */
  resolve(spec: string): Promise<{ info: WireVersionInfo; manifest: WireDatasetManifest }>;
  /** Whether each blob is stored. */
  has(cids: string[]): Promise<boolean[]>;
  /** Stores one blob whose CID and size are known; resolves once it is stored (or was already). */
  putBlob(cid: string, size: number, data: AsyncIterable<Uint8Array>, onBytes?: (n: number) => void): Promise<{ deduplicated: boolean }>;
  /** Commits a version's manifest once every shard it names is stored. */
  commit(manifest: o3ml.v1.DatasetManifest.$Properties): Promise<WireVersionInfo>;
}
