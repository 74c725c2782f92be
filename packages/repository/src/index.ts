/**
 * @o3ml/repository: what o3ml stores in a bucket and the order it writes it
 * in (docs/architecture.md, Bucket format and Commit protocol).
 */
export { newEvent, encodeEvent, decodeEvent } from "./events.js";
export { newEventId, isEventId, eventIdTime } from "./event-id.js";
export { LOG_PREFIX, eventKey, eventIdFromKey, recordEvent, type EventLog, type EventSink } from "./event-writer.js";
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
export { isPrintable, quoteName, unprintableCharacter } from "./printable.js";
