import type { Readable } from "node:stream";

/** What HeadObject tells about a stored object. */
export interface HeadResult {
  size: number;
  /** O3 only: "done" once the data reached the network (absent on plain S3). */
  networkState?: string;
  /** O3 only: the network's root CID of the object. */
  networkRootCid?: string;
  /** When the store last wrote the key (its clock, milliseconds since 1970), where it tells. */
  lastModified?: number;
}

export interface ListedObject {
  key: string;
  size: number;
  /** When the store last wrote the key (its clock, milliseconds since 1970), where it tells. */
  lastModified?: number;
}

/** One version or delete marker of a key (ListObjectVersions). */
export interface ObjectVersion {
  key: string;
  /** "null" for the one version of a key in an unversioned store. */
  versionId: string;
  deleteMarker: boolean;
  size: number;
  /** The store's clock, milliseconds since 1970; undefined where it does not tell. */
  lastModified?: number;
  /** The version a plain GET returns (or, for a marker, the one that hides the key). */
  isLatest: boolean;
}

export interface ListPage {
  objects: ListedObject[];
  /** Pass back as `after` for the next page; undefined on the last page. */
  next?: string;
}

/** What the capability probe found for one endpoint + bucket. */
export interface Capabilities {
  rangeGet: boolean;
  /** ListObjectsV2 with MaxKeys and ContinuationToken walks every key exactly once, in order. */
  listPagination: boolean;
  /** ListObjectsV2 honours StartAfter (what listPage relies on). Absent in probes cached before it existed. */
  listStartAfter?: boolean;
  /** PUT with If-None-Match: * is refused (412) when the key exists. */
  conditionalPut: boolean;
  /** O3's Network-State / Network-Root-Cid headers on HEAD. */
  networkHeaders: boolean;
  versioning: boolean;
  probedAt: string;
}

export interface PutOptions {
  contentType?: string;
  signal?: AbortSignal;
  /**
   * Refuse with ALREADY_EXISTS when the key exists. Atomic where the probe
   * found If-None-Match enforced; elsewhere a HEAD before the PUT (a race
   * with another writer of the same key remains possible).
   */
  ifAbsent?: boolean;
  /** Called with the bytes sent so far, after each part (once for a single PUT). */
  onProgress?: (sentBytes: number) => void;
  /**
   * The sha2-256 of the body, when the caller already has it (a blob's CID):
   * a single PUT signs it instead of hashing the body again, and the store
   * refuses the bytes if they do not match it. Ignored by multipart uploads.
   */
  sha256?: Uint8Array;
}

export interface GetOptions {
  /** Byte range; served by a ranged GET when the probe allows it, else by slicing a full GET. */
  range?: { offset: number; length: number };
  signal?: AbortSignal;
}

/**
 * The one storage interface of o3ml: a flat key → bytes store over an S3
 * bucket. Implementations map every failure to O3mlError (NOT_FOUND for a
 * missing key, UNAVAILABLE with the endpoint named for an unreachable store,
 * PERMISSION_DENIED for refused credentials, FAILED_PRECONDITION for a
 * missing bucket) and retry transient failures themselves.
 */
export interface BlobStore {
  readonly endpoint: string;
  readonly bucket: string;
  /** Single PUT, or multipart above the threshold; never leaves a multipart upload behind. */
  put(key: string, body: Uint8Array, opts?: PutOptions): Promise<void>;
  /** Streams a body of unknown length (multipart with bounded memory). Returns the byte count. */
  putStream(key: string, body: Readable | AsyncIterable<Uint8Array>, opts?: PutOptions): Promise<{ size: number }>;
  get(key: string, opts?: GetOptions): Promise<Uint8Array>;
  getStream(key: string, opts?: GetOptions): Promise<Readable>;
  /** undefined when the key does not exist. */
  head(key: string): Promise<HeadResult | undefined>;
  /** One page of keys under `prefix`, in key order, starting strictly after `after`. */
  listPage(prefix: string, opts?: { after?: string; pageSize?: number }): Promise<ListPage>;
  /** Every key under `prefix`, in key order, across all pages. */
  list(prefix: string): AsyncIterable<ListedObject>;
  /** Removes the key and, on a versioned bucket (O3 always is), every version of it. */
  delete(key: string): Promise<void>;
  /**
   * Every version and delete marker of every key under `prefix`, in key
   * order. An unversioned store lists each key once, as version "null".
   */
  listVersions(prefix: string): AsyncIterable<ObjectVersion>;
  /** Removes one version (or delete marker) of `key`; a version that is not there is no error. */
  deleteVersion(key: string, versionId: string): Promise<void>;
  /** Checks the bucket name against Akave's rules and that the bucket exists; creates it when `create`. */
  ensureBucket(opts?: { create?: boolean }): Promise<void>;
  /** Runs the capability probe once per endpoint + bucket and remembers the answer. */
  capabilities(): Promise<Capabilities>;
  close(): void;
}
