/**
 * The index's tables, as the query layer sees them. Column types are chosen
 * to mean the same on SQLite and PostgreSQL: times are ISO-8601 UTC text
 * (which sorts as time), maps are JSON text, booleans are 0/1 integers, byte
 * counts are 64-bit integers (PostgreSQL returns those as strings; the row
 * mappers convert).
 *
 * Every record table has a `store` column: the identity of the store (one
 * bucket at one endpoint, `storeIdentity` in packages/o3-client) whose log
 * the row came from. Keys and indexes lead with it, and every query of a
 * `MetadataIndex` is confined to the store it was opened for, so one file or
 * database can index several stores without one ever seeing another's
 * records (migrations/0002-store.ts).
 *
 * Every `*_event_id` column holds the id of the event a value came from. When
 * two events set the same value (a record written twice, by two writers or a
 * replay), the one with the smaller id wins, so the result does not depend on
 * the order events are applied in.
 */

type Int = number | string;

export interface SchemaTable {
  id: number;
  version: number;
}

export interface EventsTable {
  store: string;
  id: string;
  type: string;
  at: string;
}

export interface DatasetsTable {
  store: string;
  name: string;
  created_at: string;
  event_id: string;
}

export interface DatasetVersionsTable {
  store: string;
  dataset: string;
  version: string;
  manifest_cid: string;
  parent_version: string | null;
  parent_manifest_cid: string | null;
  samples: Int;
  bytes: Int;
  created_at: string;
  event_id: string;
}

export interface RunsTable {
  store: string;
  id: string;
  name: string;
  created_at: string;
  hyperparameters: string;
  code_commit: string | null;
  code_dirty: number | null;
  packages: string;
  host: string | null;
  event_id: string;
}

/**
 * A checkpoint row may exist before its `checkpoint.committed` event was
 * applied (a durable or deleted event came first); such a row has a null
 * `committed_event_id` and is invisible to queries until it is completed.
 */
export interface CheckpointsTable {
  store: string;
  id: string;
  run_id: string | null;
  step: Int | null;
  epoch: Int | null;
  metrics: string | null;
  manifest_cid: string | null;
  parent_id: string | null;
  dataset_version_cid: string | null;
  bytes_total: Int | null;
  bytes_uploaded: Int | null;
  bytes_deduplicated: Int | null;
  committed_at: string | null;
  committed_event_id: string | null;
  /** committed = 1, durable = 2, deleted = 3: the state only moves up. */
  state_rank: number;
  network_root_cid: string | null;
  durable_at: string | null;
  durable_event_id: string | null;
  deleted_at: string | null;
  deleted_event_id: string | null;
}

export interface ArtifactsTable {
  store: string;
  id: string;
  run_id: string;
  name: string;
  cid: string;
  bytes: Int;
  media_type: string | null;
  checkpoint_id: string | null;
  created_at: string;
  event_id: string;
}

/** Node ids are `<kind>:<id>`, e.g. `checkpoint:01J…`, `dataset-version:<manifest cid>`. */
export interface LineageEdgesTable {
  store: string;
  from_node: string;
  to_node: string;
  relation: string;
}

export interface IndexDatabase {
  o3ml_schema: SchemaTable;
  events: EventsTable;
  datasets: DatasetsTable;
  dataset_versions: DatasetVersionsTable;
  runs: RunsTable;
  checkpoints: CheckpointsTable;
  artifacts: ArtifactsTable;
  lineage_edges: LineageEdgesTable;
}

/** The tables holding a store's records, children first (`reset()` empties them of one store's). */
export const RECORD_TABLES = [
  "lineage_edges",
  "artifacts",
  "checkpoints",
  "runs",
  "dataset_versions",
  "datasets",
  "events",
] as const satisfies readonly (keyof IndexDatabase)[];
