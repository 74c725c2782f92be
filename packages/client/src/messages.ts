import type { o3ml } from "@o3ml/proto";

/**
 * The messages the clients send and return, as types derived from the code
 * protobufjs generates from proto/o3ml/v1/ (packages/proto), so that a field
 * added to a .proto file reaches every client without a copy to update.
 *
 * Two forms occur. A message a call returns as grpc-js decoded it is the
 * generated class's instance type: its scalar fields are present (decoding
 * fills in defaults), its message fields may be null. A message the client
 * normalises (DatasetClient: toObject with defaults and 64-bit integers as
 * numbers, nested messages filled in) is `Plain<...>` of the generated
 * properties: every field present, all the way down.
 */
type V1 = typeof o3ml.v1;

/** Every field of a message's properties present and non-null, nested messages and arrays included. */
export type Plain<T> = { [K in Exclude<keyof T, "$unknowns">]-?: PlainValue<NonNullable<T[K]>> };
type PlainValue<V> = V extends Uint8Array ? V : V extends readonly (infer E)[] ? PlainValue<NonNullable<E>>[] : V extends object ? Plain<V> : V;

// ObjectService
export type WireObjectInfo = InstanceType<V1["ObjectInfo"]>;
export type WirePutResponse = InstanceType<V1["PutResponse"]>;
export type WireGetResponse = InstanceType<V1["GetResponse"]>;
export type WireLocateObjectResponse = InstanceType<V1["LocateObjectResponse"]>;

// BlobService and DatasetService, as DatasetClient normalises them.
export type WireVersionInfo = Plain<o3ml.v1.DatasetVersionInfo.$Properties>;
export type WireDatasetManifest = Plain<o3ml.v1.DatasetManifest.$Properties>;
export type WireShard = WireDatasetManifest["shards"][number];
export type WireSample = WireShard["samples"][number];
export type WireGetBlobResponse = InstanceType<V1["GetBlobResponse"]>;
export type WirePushDatasetResponse = InstanceType<V1["PushDatasetResponse"]>;
export type WireDatasetPushProgress = Plain<o3ml.v1.DatasetPushProgress.$Properties>;

// CheckpointService
export type WireCheckpointInfo = InstanceType<V1["CheckpointInfo"]>;
export type WireSaveRequest = o3ml.v1.SaveCheckpointRequest.$Properties;
export type WireLoadResponse = InstanceType<V1["LoadCheckpointResponse"]>;
export type WireCheckpointHeader = o3ml.v1.CheckpointHeader.$Properties;
export type WireArchiveResponse = InstanceType<V1["ReadArchiveResponse"]>;
export type WirePruneRequest = o3ml.v1.PruneRequest.$Properties;
export type WirePruneResponse = InstanceType<V1["PruneResponse"]>;

// AdminService
export type WireGcReport = o3ml.v1.GcReport.$Properties;
export type WireGcProgress = o3ml.v1.GcProgress.$Properties;
export type WireStorageUsage = o3ml.v1.StorageUsageReport.$Properties;

// MetadataService
export type WireRebuildResult = o3ml.v1.RebuildIndexResponse.$Properties;
