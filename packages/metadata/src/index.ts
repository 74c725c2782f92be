export { openIndex, INDEX_FILE_NAME, type OpenIndexOptions } from "./open-index.js";
export { MetadataIndex, type ListCheckpointsOptions, type IndexCounts } from "./metadata-index.js";
export { rebuildIndex, type RebuildResult, type RebuildOptions, type RebuildTarget } from "./rebuild.js";
export { MemoryEventLog, type LogObject } from "./memory-event-log.js";
export type { RunRecord, DatasetRecord, DatasetVersionRecord, CheckpointRecord, ArtifactRecord } from "./records.js";
export type { LineageGraph, LineageNode, LineageEdge } from "./lineage.js";
export { renderLineage, renderText, renderMermaid, renderDot, escapeMermaid, LINEAGE_FORMATS, type LineageFormat } from "./lineage-render.js";
export { SCHEMA_VERSION } from "./migrations/index.js";
export { redactDatabaseUrl } from "./database-errors.js";
