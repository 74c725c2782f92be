/**
 * The metadata events of o3ml: every record of the index is implied by one
 * or more of these, and each is stored in the bucket as one immutable object
 * under `o3ml/v1/log/<event id>`. The field names are the wire format (they
 * are what msgpack writes), so renaming one is a format change.
 */

/** The envelope version this code writes and the newest it reads. */
export const EVENT_FORMAT_VERSION = 1;

/** A checkpoint's life: readable, then on the network, then (maybe) deleted. Never goes back. */
export type CheckpointState = "committed" | "durable" | "deleted";

/** What a lineage node is. Dataset versions are identified by their manifest CID. */
export type NodeKind = "run" | "checkpoint" | "dataset-version" | "artifact";

export interface NodeRef {
  kind: NodeKind;
  id: string;
}

export interface RunCreated {
  runId: string;
  name: string;
  hyperparameters: Record<string, unknown>;
  codeCommit: string | null;
  /** True when the working tree had uncommitted changes at start. */
  codeDirty: boolean | null;
  /** Package name → version, e.g. torch, lightning, o3ml. */
  packages: Record<string, string>;
  host: string | null;
}

/** A run removed (`o3ml runs rm`), after a `checkpoint.deleted` for each of its checkpoints. */
export interface RunDeleted {
  runId: string;
}

export interface DatasetVersionCreated {
  dataset: string;
  /** The sortable id of the version's ref; "latest" is the greatest in sort order. */
  version: string;
  manifestCid: string;
  /** The version this one was derived from, and its manifest CID: both or neither. */
  parentVersion: string | null;
  parentManifestCid: string | null;
  samples: number;
  bytes: number;
  /** The sortable id of the ref that commits the version, written after this event; null in events older than it. */
  refId: string | null;
}

/**
 * A dataset version removed (`o3ml dataset rm`): it leaves the listings and
 * the index, and gc no longer keeps its manifest or the shards only it names.
 */
export interface DatasetVersionDeleted {
  dataset: string;
  version: string;
  manifestCid: string;
  /** The sortable id of the version's ref, removed after this event (the deletion's commit point); null in events older than it. */
  endsRefId: string | null;
}

export interface CheckpointCommitted {
  checkpointId: string;
  runId: string;
  step: number;
  epoch: number;
  metrics: Record<string, number>;
  manifestCid: string;
  parentCheckpointId: string | null;
  datasetVersionCid: string | null;
  bytesTotal: number;
  bytesUploaded: number;
  bytesDeduplicated: number;
  /** The sortable id of the ref that commits the checkpoint, written after this event; null in events older than it. */
  refId: string | null;
}

export interface CheckpointDurable {
  checkpointId: string;
  networkRootCid: string | null;
}

export interface CheckpointDeleted {
  checkpointId: string;
  /**
   * The sortable id of the ref at the checkpoint's key that this deletion
   * ends: a tombstone (or a new value) written after this event supersedes it,
   * and that is the deletion's commit point. Null when the deletion changes no
   * ref (the key holds another value already) and in events older than it.
   */
  endsRefId: string | null;
}

export interface ArtifactCreated {
  artifactId: string;
  runId: string;
  name: string;
  cid: string;
  bytes: number;
  mediaType: string | null;
  checkpointId: string | null;
}

/** An explicit lineage edge, for relations no other event implies. */
export interface LineageLinked {
  from: NodeRef;
  to: NodeRef;
  relation: string;
}

export interface EventDataByType {
  "run.created": RunCreated;
  "run.deleted": RunDeleted;
  "dataset.version.created": DatasetVersionCreated;
  "dataset.version.deleted": DatasetVersionDeleted;
  "checkpoint.committed": CheckpointCommitted;
  "checkpoint.durable": CheckpointDurable;
  "checkpoint.deleted": CheckpointDeleted;
  "artifact.created": ArtifactCreated;
  "lineage.linked": LineageLinked;
}

export type EventType = keyof EventDataByType;

export const EVENT_TYPES: readonly EventType[] = [
  "run.created",
  "run.deleted",
  "dataset.version.created",
  "dataset.version.deleted",
  "checkpoint.committed",
  "checkpoint.durable",
  "checkpoint.deleted",
  "artifact.created",
  "lineage.linked",
];

/** One event: `v` is the envelope version, `id` a sortable id, `at` an ISO-8601 time. */
export type MetadataEvent = {
  [T in EventType]: { v: typeof EVENT_FORMAT_VERSION; type: T; id: string; at: string; data: EventDataByType[T] };
}[EventType];

export type EventOf<T extends EventType> = Extract<MetadataEvent, { type: T }>;

type NullableKeys<T> = { [K in keyof T]: null extends T[K] ? K : never }[keyof T];

/** What a writer passes: fields that may be null may also be left out. */
export type EventInput<T extends EventType> = Omit<EventDataByType[T], NullableKeys<EventDataByType[T]>> & {
  [K in NullableKeys<EventDataByType[T]>]?: EventDataByType[T][K];
};
