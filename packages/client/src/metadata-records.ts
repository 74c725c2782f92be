import { O3mlError } from "@o3ml/errors";
import type { o3ml } from "@o3ml/proto";

/**
 * Index records ↔ MetadataService messages. On the wire an absent value is
 * the field's default ("" or 0, or a `has_` flag for a boolean that may be
 * unknown) and times are Unix milliseconds; the records use null and
 * ISO-8601 strings. Both directions live here so they cannot drift: the
 * service sends its index's records (packages/metadata/src/records.ts, of the
 * same shape, which services/storage/src/metadata/metadata-service.ts checks
 * at compile time) and clients read them back.
 */
export type WireRunInfo = o3ml.v1.RunInfo.$Properties;
export type WireCheckpointRecord = o3ml.v1.CheckpointRecord.$Properties;
export type WireArtifactInfo = o3ml.v1.ArtifactInfo.$Properties;

/** Every field of a message present (decoded messages carry defaults; absent ones are records' nulls below). */
type Fields<T> = { [K in Exclude<keyof T, "$unknowns">]-?: NonNullable<T[K]> };

/** Where a checkpoint is in its life: committed to the store, durable on the network, or deleted. */
export type CheckpointState = "committed" | "durable" | "deleted";

/**
 * A run as clients see it: the RunInfo message with times as ISO-8601,
 * hyperparameters parsed from their JSON, and null for what was not given.
 */
export type RunRecord = Pick<Fields<WireRunInfo>, "id" | "name" | "packages"> & {
  createdAt: string;
  hyperparameters: Record<string, unknown>;
  codeCommit: string | null;
  codeDirty: boolean | null;
  host: string | null;
};

/** A checkpoint of the index: the CheckpointRecord message with ISO times, null for absent links and a typed state. */
export type CheckpointRecord = Pick<Fields<WireCheckpointRecord>, "id" | "runId" | "step" | "epoch" | "metrics" | "manifestCid" | "bytesTotal" | "bytesUploaded" | "bytesDeduplicated"> & {
  parentId: string | null;
  datasetVersionCid: string | null;
  state: CheckpointState;
  networkRootCid: string | null;
  committedAt: string;
  durableAt: string | null;
  deletedAt: string | null;
};

/** An artifact of a run: the ArtifactInfo message with an ISO time and null for absent values. */
export type ArtifactRecord = Pick<Fields<WireArtifactInfo>, "id" | "runId" | "name" | "cid" | "bytes"> & {
  mediaType: string | null;
  checkpointId: string | null;
  createdAt: string;
};

const ms = (iso: string | null) => (iso ? Date.parse(iso) : 0);
// A 64-bit field left at 0 decodes as a Long object, which is truthy: compare numbers.
const iso = (unixMs: unknown) => (Number(unixMs ?? 0) !== 0 ? new Date(Number(unixMs)).toISOString() : null);
const orNull = (s: string | null | undefined) => (s ? s : null);

export function runToWire(r: RunRecord): WireRunInfo {
  return {
    id: r.id,
    name: r.name,
    createdUnixMs: ms(r.createdAt),
    hyperparametersJson: JSON.stringify(r.hyperparameters),
    codeCommit: r.codeCommit ?? "",
    codeDirty: r.codeDirty ?? false,
    hasCodeDirty: r.codeDirty !== null,
    packages: r.packages,
    host: r.host ?? "",
  };
}

export function runFromWire(w: WireRunInfo): RunRecord {
  return {
    id: w.id ?? "",
    name: w.name ?? "",
    createdAt: iso(w.createdUnixMs) ?? "",
    hyperparameters: parseHyperparameters(w.hyperparametersJson ?? ""),
    codeCommit: orNull(w.codeCommit),
    codeDirty: w.hasCodeDirty ? !!w.codeDirty : null,
    packages: { ...(w.packages ?? {}) },
    host: orNull(w.host),
  };
}

/** Hyperparameters travel as JSON text; they must be a JSON object. "" means none. */
export function parseHyperparameters(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new O3mlError("INVALID_ARGUMENT", `hyperparameters are not valid JSON (${(err as Error).message}); send a JSON object such as {"lr": 0.001}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new O3mlError("INVALID_ARGUMENT", `hyperparameters must be a JSON object (name → value), got ${Array.isArray(value) ? "an array" : JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

export function checkpointToWire(c: CheckpointRecord): WireCheckpointRecord {
  return {
    id: c.id,
    runId: c.runId,
    step: c.step,
    epoch: c.epoch,
    metrics: c.metrics,
    manifestCid: c.manifestCid,
    parentId: c.parentId ?? "",
    datasetVersionCid: c.datasetVersionCid ?? "",
    state: c.state,
    bytesTotal: c.bytesTotal,
    bytesUploaded: c.bytesUploaded,
    bytesDeduplicated: c.bytesDeduplicated,
    networkRootCid: c.networkRootCid ?? "",
    committedUnixMs: ms(c.committedAt),
    durableUnixMs: ms(c.durableAt),
    deletedUnixMs: ms(c.deletedAt),
  };
}

export function checkpointFromWire(w: WireCheckpointRecord): CheckpointRecord {
  return {
    id: w.id ?? "",
    runId: w.runId ?? "",
    step: Number(w.step ?? 0),
    epoch: Number(w.epoch ?? 0),
    metrics: { ...(w.metrics ?? {}) },
    manifestCid: w.manifestCid ?? "",
    parentId: orNull(w.parentId),
    datasetVersionCid: orNull(w.datasetVersionCid),
    state: (w.state || "committed") as CheckpointState,
    bytesTotal: Number(w.bytesTotal ?? 0),
    bytesUploaded: Number(w.bytesUploaded ?? 0),
    bytesDeduplicated: Number(w.bytesDeduplicated ?? 0),
    networkRootCid: orNull(w.networkRootCid),
    committedAt: iso(w.committedUnixMs) ?? "",
    durableAt: iso(w.durableUnixMs),
    deletedAt: iso(w.deletedUnixMs),
  };
}

export function artifactToWire(a: ArtifactRecord): WireArtifactInfo {
  return {
    id: a.id,
    runId: a.runId,
    name: a.name,
    cid: a.cid,
    bytes: a.bytes,
    mediaType: a.mediaType ?? "",
    checkpointId: a.checkpointId ?? "",
    createdUnixMs: ms(a.createdAt),
  };
}

export function artifactFromWire(w: WireArtifactInfo): ArtifactRecord {
  return {
    id: w.id ?? "",
    runId: w.runId ?? "",
    name: w.name ?? "",
    cid: w.cid ?? "",
    bytes: Number(w.bytes ?? 0),
    mediaType: orNull(w.mediaType),
    checkpointId: orNull(w.checkpointId),
    createdAt: iso(w.createdUnixMs) ?? "",
  };
}
