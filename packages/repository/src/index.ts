/**
 * @o3ml/repository: what o3ml stores in a bucket and the order it writes it
 * in (docs/architecture.md, Bucket format and Commit protocol). The service
 * (services/storage) adds gRPC, the metadata index, the host's cache and
 * co-location on top; `@o3ml/metadata` builds its index from the events read here.
 */
// The bucket layout: every key o3ml writes, and which object keys are valid.
export {
  ROOT,
  BLOBS_PREFIX,
  MANIFESTS_PREFIX,
  REFS_PREFIX,
  blobKey,
  manifestKey,
  refPrefix,
  refKey,
  refsRoot,
  parseRefKey,
  DATASET_REF_KIND,
  PINS_ROOT,
  pinPrefix,
  pinKey,
  parsePinKey,
  GC_EPOCH_KEY,
  GC_MARKS_KEY,
  GC_CLOCK_KEY,
  GC_CONDEMNED_PREFIX,
  LOG_PREFIX,
  eventKey,
  validateObjectKey,
  validatePrefix,
} from "./layout.js";
export { isPrintable, quoteName, unprintableCharacter } from "./printable.js";

// Blobs, manifests and refs: written once, read verified.
export { KnownBlobs, GC_FENCE_MS, type BlobLease, type LeaseWatch } from "./known-blobs.js";
export { BlobWriter, type ChunkBudget } from "./blob-writer.js";
export { readChunks, fetchVerified, type ChunkSpan } from "./blob-reader.js";
export { ManifestStore } from "./manifest-store.js";
export { RefStore, type RefRecord } from "./ref-store.js";

// The commit order: blobs, manifest, event, ref (the commit point), index.
export { commitWithEvent, landedRefs, type CommitEvents, type LandedRefs } from "./commit-order.js";

// The metadata events and the bucket's log that holds them.
export { newEvent, encodeEvent, decodeEvent } from "./events.js";
export { newEventId, isEventId, eventIdTime } from "./event-id.js";
export { eventIdFromKey, recordEvent, type EventLog, type EventSink } from "./event-writer.js";
export { BucketEventLog } from "./bucket-event-log.js";
export { logObjects, type LogObjectsOptions } from "./log-objects.js";
export {
  EVENT_FORMAT_VERSION,
  EVENT_TYPES,
  type EventType,
  type EventDataByType,
  type EventInput,
  type EventOf,
  type MetadataEvent,
  type CheckpointState,
  type NodeKind,
  type NodeRef,
  type RunCreated,
  type DatasetVersionCreated,
  type CheckpointCommitted,
  type CheckpointDurable,
  type CheckpointDeleted,
  type ArtifactCreated,
  type LineageLinked,
} from "./event-types.js";

// What garbage collection writes to the bucket that every commit reads: the bucket's clock and the condemned lists.
export { bucketNow, type BucketNow } from "./gc/bucket-clock.js";
export { condemn, removeStaleCondemned, CondemnedLists, SWEEP_LIMIT_MS, CONDEMNED_TTL_MS, type Condemned, type GcLog } from "./gc/condemned.js";
