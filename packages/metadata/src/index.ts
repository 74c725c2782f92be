export { openIndex, INDEX_FILE_NAME, type OpenIndexOptions } from "./open-index.js";
export { MetadataIndex, type ListCheckpointsOptions, type IndexCounts } from "./metadata-index.js";
export { rebuildIndex, type LandedRefs, type RebuildResult, type RebuildOptions, type RebuildTarget } from "./rebuild.js";
export { newEvent, encodeEvent, decodeEvent } from "./events.js";
export { newEventId, isEventId, eventIdTime } from "./event-id.js";
export { LOG_PREFIX, eventKey, eventIdFromKey, recordEvent, type EventLog, type EventSink } from "./event-writer.js";
export { MemoryEventLog, type LogObject } from "./memory-event-log.js";
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
export type { RunRecord, DatasetRecord, DatasetVersionRecord, CheckpointRecord, ArtifactRecord } from "./records.js";
export type { LineageGraph, LineageNode, LineageEdge } from "./lineage.js";
export { renderLineage, renderText, renderMermaid, renderDot, escapeMermaid, LINEAGE_FORMATS, type LineageFormat } from "./lineage-render.js";
export { SCHEMA_VERSION } from "./migrations/index.js";
export { redactDatabaseUrl } from "./database-errors.js";
export { isPrintable, quoteName, unprintableCharacter } from "./printable.js";
