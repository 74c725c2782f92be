import { O3mlError } from "@o3ml/errors";
import { Packr, Unpackr } from "msgpackr";
import { isEventId, newEventId } from "./event-id.js";
import { ShapeError, checkEventData, isEventType, isPlainObject } from "./event-shape.js";
import { EVENT_FORMAT_VERSION, type EventInput, type EventOf, type EventType, type MetadataEvent } from "./event-types.js";

/**
 * The event codec. An event object in the bucket is one standard MessagePack
 * map (no msgpackr record extension, no undefined), so any MessagePack
 * library, Python's included, can read the log:
 *
 *   { v: 1, type: "checkpoint.committed", id: "01J…", at: "2025-…Z", data: {…} }
 */

// Plain maps, not msgpackr's shared-structure records: each object must be
// readable on its own, years later, by any reader.
const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Builds a valid event (fresh sortable id, current time unless given); bad data is INVALID_ARGUMENT. */
export function newEvent<T extends EventType>(type: T, data: EventInput<T>, opts: { id?: string; at?: Date | string } = {}): EventOf<T> {
  const at = opts.at ?? new Date();
  const ms = at instanceof Date ? at.getTime() : Date.parse(at);
  const candidate = {
    v: EVENT_FORMAT_VERSION,
    type,
    // An invalid time fails the shape check below; the id just must not throw first.
    id: opts.id ?? newEventId(Number.isSafeInteger(ms) && ms >= 0 ? ms : Date.now()),
    at: at instanceof Date ? (Number.isNaN(ms) ? "invalid date" : at.toISOString()) : at,
    data,
  };
  try {
    return checkEnvelope(candidate) as EventOf<T>;
  } catch (err) {
    if (err instanceof ShapeError) throw new O3mlError("INVALID_ARGUMENT", `invalid ${type} event: ${err.message}`, { field: err.path });
    throw err;
  }
}

export function encodeEvent(event: MetadataEvent): Uint8Array {
  return packr.pack(wireValue(event));
}

/**
 * Reads one event object. `key` (the object's key in the bucket) is named in
 * every error. Malformed bytes or shape: INVALID_ARGUMENT. An envelope newer
 * than EVENT_FORMAT_VERSION: FAILED_PRECONDITION, since an older o3ml must not
 * guess at a newer format.
 */
export function decodeEvent(bytes: Uint8Array, key = "(event)"): MetadataEvent {
  let raw: unknown;
  try {
    raw = unpackr.unpack(bytes);
  } catch (err) {
    throw new O3mlError("INVALID_ARGUMENT", `event object ${key} is not valid MessagePack (${(err as Error).message})`, { key });
  }
  if (isPlainObject(raw) && typeof raw.v === "number" && Number.isInteger(raw.v) && raw.v > EVENT_FORMAT_VERSION) {
    throw new O3mlError(
      "FAILED_PRECONDITION",
      `event object ${key} has format version ${raw.v}, but this o3ml reads up to version ${EVENT_FORMAT_VERSION}: upgrade o3ml to read this bucket`,
      { key, version: raw.v },
    );
  }
  try {
    return checkEnvelope(raw);
  } catch (err) {
    if (err instanceof ShapeError) {
      throw new O3mlError("INVALID_ARGUMENT", `event object ${key} is malformed: ${err.message}`, { key, field: err.path });
    }
    throw err;
  }
}

function checkEnvelope(raw: unknown): MetadataEvent {
  if (!isPlainObject(raw)) throw new ShapeError("event", "must be a map");
  if (raw.v !== EVENT_FORMAT_VERSION) throw new ShapeError("v", `must be ${EVENT_FORMAT_VERSION}`);
  if (!isEventType(raw.type)) throw new ShapeError("type", `is not a known event type: ${JSON.stringify(raw.type)}`);
  if (!isEventId(raw.id)) throw new ShapeError("id", "must be a sortable event id (26 characters of Crockford base32)");
  if (typeof raw.at !== "string" || !ISO_TIME.test(raw.at) || Number.isNaN(Date.parse(raw.at))) {
    throw new ShapeError("at", "must be an ISO-8601 time");
  }
  const data = checkEventData(raw.type, raw.data);
  return { v: EVENT_FORMAT_VERSION, type: raw.type, id: raw.id, at: raw.at, data } as MetadataEvent;
}

/**
 * Drops undefined (msgpackr would write a non-standard extension for it) and
 * writes integers beyond 32 bits as 64-bit integers rather than msgpackr's
 * default float64, so byte counts stay integers for every reader.
 */
function wireValue(value: unknown): unknown {
  if (typeof value === "number" && Number.isSafeInteger(value) && (value > 0xffffffff || value < -0x80000000)) return BigInt(value);
  if (Array.isArray(value)) return value.map(wireValue);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = wireValue(v);
    return out;
  }
  return value;
}
