import type { EventDataByType, EventType, NodeKind } from "./event-types.js";
import { isPrintable } from "./printable.js";

/**
 * Shape checks for event data. Every event that reaches the index passed
 * through here, whether it was just built by a writer or read back from the
 * bucket, so the index never holds a value its queries and renderers cannot
 * handle. `checkEventData` returns the data normalised: optional fields
 * present as null, unknown fields dropped.
 */

type Field =
  | "id" // non-empty printable string, at most 512 characters
  | "id?"
  | "text?" // printable string (may be empty) or null
  | "count" // non-negative safe integer
  | "bool?"
  | "json-object" // plain object of JSON-like values
  | "string-map"
  | "number-map"
  | "node"
  | "relation";

const SPECS: { [T in EventType]: Record<keyof EventDataByType[T], Field> } = {
  "run.created": {
    runId: "id",
    name: "id",
    hyperparameters: "json-object",
    codeCommit: "id?",
    codeDirty: "bool?",
    packages: "string-map",
    host: "text?",
  },
  "run.deleted": { runId: "id" },
  "dataset.version.created": {
    dataset: "id",
    version: "id",
    manifestCid: "id",
    parentVersion: "id?",
    parentManifestCid: "id?",
    samples: "count",
    bytes: "count",
    refId: "id?",
  },
  "dataset.version.deleted": { dataset: "id", version: "id", manifestCid: "id", endsRefId: "id?" },
  "checkpoint.committed": {
    checkpointId: "id",
    runId: "id",
    step: "count",
    epoch: "count",
    metrics: "number-map",
    manifestCid: "id",
    parentCheckpointId: "id?",
    datasetVersionCid: "id?",
    bytesTotal: "count",
    bytesUploaded: "count",
    bytesDeduplicated: "count",
    refId: "id?",
  },
  "checkpoint.durable": { checkpointId: "id", networkRootCid: "id?" },
  "checkpoint.deleted": { checkpointId: "id", endsRefId: "id?" },
  "artifact.created": {
    artifactId: "id",
    runId: "id",
    name: "id",
    cid: "id",
    bytes: "count",
    mediaType: "id?",
    checkpointId: "id?",
  },
  "lineage.linked": { from: "node", to: "node", relation: "relation" },
};

const NODE_KINDS: readonly NodeKind[] = ["run", "checkpoint", "dataset-version", "artifact"];
const MAX_DEPTH = 16;

/** A shape violation; `path` names the offending field, e.g. `data.step`. */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path} ${problem}`);
  }
}

export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && Object.hasOwn(SPECS, value);
}

export function checkEventData<T extends EventType>(type: T, data: unknown): EventDataByType[T] {
  if (!isPlainObject(data)) throw new ShapeError("data", "must be a map");
  const spec = SPECS[type] as Record<string, Field>;
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(spec)) out[name] = checkField(`data.${name}`, field, data[name]);
  if (type === "dataset.version.created" && (out.parentVersion === null) !== (out.parentManifestCid === null)) {
    throw new ShapeError("data.parentVersion", "and data.parentManifestCid must be given together");
  }
  if (type === "checkpoint.committed") {
    const c = out as unknown as EventDataByType["checkpoint.committed"];
    if (c.bytesUploaded + c.bytesDeduplicated > c.bytesTotal) {
      throw new ShapeError("data.bytesUploaded", "plus data.bytesDeduplicated exceeds data.bytesTotal");
    }
  }
  return out as unknown as EventDataByType[T];
}

function checkField(path: string, field: Field, value: unknown): unknown {
  const optional = field.endsWith("?");
  if (optional && (value === undefined || value === null)) return null;
  switch (field) {
    case "id":
    case "id?":
      if (typeof value !== "string" || value.length === 0 || value.length > 512 || !isPrintable(value)) {
        throw new ShapeError(path, "must be a non-empty printable string of at most 512 characters");
      }
      return value;
    case "text?":
      if (typeof value !== "string" || value.length > 4096 || !isPrintable(value)) throw new ShapeError(path, "must be a printable string");
      return value;
    case "count":
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new ShapeError(path, "must be a non-negative integer");
      return value;
    case "bool?":
      if (typeof value !== "boolean") throw new ShapeError(path, "must be true, false or null");
      return value;
    case "json-object":
      if (!isPlainObject(value)) throw new ShapeError(path, "must be a map");
      checkJson(path, value, 0);
      return value;
    case "string-map":
      return checkMap(path, value, (v) => typeof v === "string", "a string");
    case "number-map":
      // NaN and infinities are allowed: a diverged loss is still worth recording.
      return checkMap(path, value, (v) => typeof v === "number", "a number");
    case "node": {
      if (!isPlainObject(value)) throw new ShapeError(path, "must be a map {kind, id}");
      if (!NODE_KINDS.includes(value.kind as NodeKind)) throw new ShapeError(`${path}.kind`, `must be one of ${NODE_KINDS.join(", ")}`);
      return { kind: value.kind, id: checkField(`${path}.id`, "id", value.id) };
    }
    case "relation":
      if (typeof value !== "string" || !/^[a-z][a-z0-9-]{0,63}$/.test(value)) {
        throw new ShapeError(path, "must be a lowercase word (letters, digits, hyphens)");
      }
      return value;
  }
}

function checkMap(path: string, value: unknown, ok: (v: unknown) => boolean, what: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw new ShapeError(path, "must be a map");
  for (const [k, v] of Object.entries(value)) {
    if (k.length === 0 || !isPrintable(k)) throw new ShapeError(path, "has an empty or unprintable key");
    if (k === "__proto__") throw new ShapeError(path, "has the key __proto__, which MessagePack readers drop; rename it");
    if (!ok(v)) throw new ShapeError(`${path}.${k}`, `must be ${what}`);
  }
  return value;
}

/** Hyperparameters are stored as JSON text, so only JSON-representable values are accepted. */
function checkJson(path: string, value: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new ShapeError(path, `nests deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ShapeError(path, "must be a finite number");
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkJson(`${path}[${i}]`, v, depth + 1));
    return;
  }
  if (isPlainObject(value)) {
    // An absent value (undefined) is simply not written, as in JSON.
    for (const [k, v] of Object.entries(value)) {
      // MessagePack readers drop this key to prevent prototype pollution, so it cannot round-trip.
      if (k === "__proto__") throw new ShapeError(path, "has the key __proto__, which MessagePack readers drop; rename it");
      if (v !== undefined) checkJson(`${path}.${k}`, v, depth + 1);
    }
    return;
  }
  throw new ShapeError(path, "must be a JSON value (string, number, boolean, null, list or map)");
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
