import type { ArtifactCreated, CheckpointState, DatasetVersionCreated, RunCreated } from "@o3ml/repository";
import type { ArtifactsTable, CheckpointsTable, DatasetVersionsTable, RunsTable } from "./schema.js";

/** The records the index answers with. Times are ISO-8601 UTC strings. */

/** A run as its `run.created` event describes it, under its id, with the time it was created. */
export interface RunRecord extends Omit<RunCreated, "runId"> {
  id: string;
  createdAt: string;
}

export interface DatasetRecord {
  name: string;
  createdAt: string;
  versions: number;
  latestVersion: string | null;
}

/** A dataset version as its `dataset.version.created` event describes it (less the ref that committed it), with its creation time. */
export interface DatasetVersionRecord extends Omit<DatasetVersionCreated, "refId"> {
  createdAt: string;
}

export interface CheckpointRecord {
  id: string;
  runId: string;
  step: number;
  epoch: number;
  metrics: Record<string, number>;
  manifestCid: string;
  parentId: string | null;
  datasetVersionCid: string | null;
  state: CheckpointState;
  bytesTotal: number;
  bytesUploaded: number;
  bytesDeduplicated: number;
  networkRootCid: string | null;
  committedAt: string;
  durableAt: string | null;
  deletedAt: string | null;
}

/** An artifact is its `artifact.created` event's fields (its id as `id`) with its creation time. */
export interface ArtifactRecord extends Omit<ArtifactCreated, "artifactId"> {
  id: string;
  createdAt: string;
}

export const STATE_RANK: Readonly<Record<CheckpointState, number>> = { committed: 1, durable: 2, deleted: 3 };
const STATE_BY_RANK: readonly CheckpointState[] = ["committed", "committed", "durable", "deleted"];

export function runFromRow(r: RunsTable): RunRecord {
  return {
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    hyperparameters: JSON.parse(r.hyperparameters) as Record<string, unknown>,
    codeCommit: r.code_commit,
    codeDirty: r.code_dirty === null ? null : Number(r.code_dirty) === 1,
    packages: JSON.parse(r.packages) as Record<string, string>,
    host: r.host,
  };
}

export function datasetVersionFromRow(r: DatasetVersionsTable): DatasetVersionRecord {
  return {
    dataset: r.dataset,
    version: r.version,
    manifestCid: r.manifest_cid,
    parentVersion: r.parent_version,
    parentManifestCid: r.parent_manifest_cid,
    samples: Number(r.samples),
    bytes: Number(r.bytes),
    createdAt: r.created_at,
  };
}

/** Only rows whose committed event was applied reach here (see CheckpointsTable). */
export function checkpointFromRow(r: CheckpointsTable): CheckpointRecord {
  return {
    id: r.id,
    runId: r.run_id!,
    step: Number(r.step),
    epoch: Number(r.epoch),
    metrics: decodeMetrics(r.metrics!),
    manifestCid: r.manifest_cid!,
    parentId: r.parent_id,
    datasetVersionCid: r.dataset_version_cid,
    state: STATE_BY_RANK[Number(r.state_rank)] ?? "committed",
    bytesTotal: Number(r.bytes_total),
    bytesUploaded: Number(r.bytes_uploaded),
    bytesDeduplicated: Number(r.bytes_deduplicated),
    networkRootCid: r.network_root_cid,
    committedAt: r.committed_at!,
    durableAt: r.durable_at,
    deletedAt: r.deleted_at,
  };
}

export function artifactFromRow(r: ArtifactsTable): ArtifactRecord {
  return {
    id: r.id,
    runId: r.run_id,
    name: r.name,
    cid: r.cid,
    bytes: Number(r.bytes),
    mediaType: r.media_type,
    checkpointId: r.checkpoint_id,
    createdAt: r.created_at,
  };
}

// Metrics are JSON text in the database, and JSON has no NaN or infinities;
// a diverged loss is written as the string "NaN" and read back as NaN.
const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

export function encodeMetrics(metrics: Record<string, number>): string {
  return JSON.stringify(metrics, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}

export function decodeMetrics(text: string): Record<string, number> {
  return JSON.parse(text, (_k, v: unknown) => (typeof v === "string" && v in NON_FINITE ? NON_FINITE[v] : v)) as Record<string, number>;
}
