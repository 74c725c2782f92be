/**
 * Object manifests: the stored record of a named object (docs/architecture.md, Bucket format), kept
 * at o3ml/v1/manifests/<cid>. A manifest lists, in order, the blobs whose
 * concatenation is the object, with the object's size and whole-object sha2-256.
 *
 * The encoding is deterministic, so the same object always yields the same
 * bytes, and the manifest is stored as a raw blob named by cidOf(bytes). That
 * CID is therefore the Merkle root of everything the manifest names: it fixes
 * the manifest's bytes, which fix every chunk CID, which fix every chunk's
 * bytes. Checking one CID against the manifest, then each chunk against its
 * CID, verifies the whole object.
 *
 * A checkpoint's manifest also carries its CheckpointTable (checkpoint-table.ts).
 * Without packed entries it rides on format 1, because a reader that ignores it
 * still reads the checkpoint correctly as the plain object it also is; with
 * packed entries (small tensors stored together in one blob) the manifest is
 * format 2, so that a reader that does not know packs refuses it instead of
 * reading the wrong bytes.
 */
import { O3mlError } from "@o3ml/errors";
import { o3ml } from "@o3ml/proto";
import { hasPacks, normalizeTable, sortedByUtf8, tableFromWire, tableProblem, writeTable, type CheckpointTable } from "./checkpoint-table.js";
import { cidOf, isCid, parseCid, verifyBlob } from "./cid.js";
import { SHA256_LENGTH } from "./sha256.js";
import { checkFormatVersion, checkWhole, decodeWith, malformed } from "./stored-format.js";

/** The newest ObjectManifest format this code reads and writes (2: a checkpoint with packed entries). */
export const OBJECT_MANIFEST_FORMAT = 2;
/** The format of every manifest without packed entries. */
const PLAIN_FORMAT = 1;

/** One blob of an object, in order. */
export interface ChunkEntry {
  cid: string;
  size: number;
}

/** What a writer supplies. */
export interface ObjectManifestInput {
  /** Object size in bytes: the sum of the chunk sizes. */
  size: number;
  chunks: ChunkEntry[];
  contentType?: string;
  /** sha2-256 of the whole object (32 bytes). */
  sha256: Uint8Array;
  labels?: Record<string, string>;
  /** Set for a checkpoint: its entries must name `chunks` as checkpoint-table.ts says. */
  checkpoint?: CheckpointTable;
}

/** What a reader gets back: every field present except `checkpoint`, set only for a checkpoint. */
export interface ObjectManifest {
  formatVersion: number;
  size: number;
  chunks: ChunkEntry[];
  contentType: string;
  sha256: Uint8Array;
  labels: Record<string, string>;
  checkpoint?: CheckpointTable;
}

const LABELS_FIELD_TAG = (6 << 3) | 2; // field 6 (labels), length-delimited
const MAP_KEY_TAG = (1 << 3) | 2;
const MAP_VALUE_TAG = (2 << 3) | 2;
const CHECKPOINT_FIELD_TAG = (7 << 3) | 2; // field 7 (checkpoint), length-delimited

/**
 * Encodes a manifest deterministically: fields in number order, labels sorted
 * by the UTF-8 bytes of their keys (as protobuf's deterministic mode does in
 * other languages), format_version always set, then the checkpoint table (field
 * 7, its metrics sorted the same way). Throws INVALID_ARGUMENT for a manifest
 * a reader would refuse.
 */
export function encodeObjectManifest(m: ObjectManifestInput): Uint8Array {
  const noun = "object manifest";
  const size = checkWhole("size", m.size, 0, noun);
  let total = 0;
  const chunks = m.chunks.map((c, i) => {
    parseCid(c.cid);
    total += checkWhole(`chunks[${i}].size`, c.size, 1, noun);
    return { cid: c.cid, size: c.size };
  });
  if (total !== size) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `cannot encode ${noun}: its chunks add up to ${total} bytes but size is ${size}`,
    );
  }
  // A checkpoint may leave the whole-object digest out: its blobs' CIDs prove its content.
  const digestless = m.checkpoint !== undefined && m.sha256 instanceof Uint8Array && m.sha256.length === 0;
  if (!(m.sha256 instanceof Uint8Array) || (m.sha256.length !== SHA256_LENGTH && !digestless)) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `cannot encode ${noun}: sha256 must be the 32-byte sha2-256 digest of the whole object (or empty, for a checkpoint)`,
    );
  }
  const labels = sortedLabels(m.labels ?? {});
  for (const [key, value] of labels) {
    if (typeof value !== "string") {
      throw new O3mlError(
        "INVALID_ARGUMENT",
        `cannot encode ${noun}: label ${JSON.stringify(key)} must have a string value`,
      );
    }
  }
  let checkpoint: CheckpointTable | undefined;
  if (m.checkpoint !== undefined) {
    checkpoint = normalizeTable(m.checkpoint);
    const problem = tableProblem(checkpoint, chunks.map((c) => c.size));
    if (problem) throw new O3mlError("INVALID_ARGUMENT", `cannot encode ${noun}: its checkpoint table is invalid: ${problem}`);
  }
  // protobufjs writes map entries in Object.keys order, which puts integer-like
  // keys first; fields 1-5 go through it and the labels (field 6) and the
  // checkpoint table (field 7, with its own map) are appended here in order.
  const writer = o3ml.v1.ObjectManifest.encode(
    o3ml.v1.ObjectManifest.create({
      formatVersion: checkpoint && hasPacks(checkpoint) ? OBJECT_MANIFEST_FORMAT : PLAIN_FORMAT,
      size,
      chunks,
      contentType: m.contentType ?? "",
      sha256: m.sha256,
    }),
  );
  for (const [key, value] of labels) {
    writer.uint32(LABELS_FIELD_TAG).fork().uint32(MAP_KEY_TAG).string(key).uint32(MAP_VALUE_TAG).string(value).ldelim();
  }
  if (checkpoint) {
    writer.uint32(CHECKPOINT_FIELD_TAG).fork();
    writeTable(writer, checkpoint);
    writer.ldelim();
  }
  return writer.finish();
}

/** The CID a manifest is stored under: the Merkle root of the object. */
export function manifestCid(bytes: Uint8Array): string {
  return cidOf(bytes);
}

/**
 * Decodes a stored manifest. With `expectedCid` (the name it was read under),
 * first verifies the bytes against it. Throws INTEGRITY for altered or
 * malformed bytes and FAILED_PRECONDITION for a manifest of a newer format.
 */
export function decodeObjectManifest(bytes: Uint8Array, expectedCid?: string): ObjectManifest {
  if (expectedCid !== undefined) verifyBlob(expectedCid, bytes, { what: "manifest" });
  const cid = expectedCid ?? manifestCid(bytes);
  const noun = `manifest ${cid}`;
  const details = { cid };
  const msg = decodeWith((b) => o3ml.v1.ObjectManifest.decode(b), bytes, noun, details);
  checkFormatVersion(msg.formatVersion, OBJECT_MANIFEST_FORMAT, noun, details);

  // Absent 64-bit fields decode to the prototype's default, which is a Long
  // object rather than 0 when the long package is installed: hence Number().
  const size = Number(msg.size);
  let total = 0;
  const chunks = msg.chunks.map((c, i) => {
    const entry = { cid: c.cid ?? "", size: Number(c.size ?? 0) };
    if (!isCid(entry.cid)) throw malformed(noun, `chunk ${i} has an invalid CID ${JSON.stringify(entry.cid)}`, details);
    if (!Number.isSafeInteger(entry.size) || entry.size < 1) {
      throw malformed(noun, `chunk ${i} (${entry.cid}) has an invalid size ${entry.size}`, details);
    }
    total += entry.size;
    return entry;
  });
  if (!Number.isSafeInteger(size) || total !== size) {
    throw malformed(noun, `its chunks add up to ${total} bytes but its size is ${size}`, details);
  }
  if (msg.sha256.length !== SHA256_LENGTH && !(msg.sha256.length === 0 && msg.checkpoint)) {
    throw malformed(noun, `its sha256 is ${msg.sha256.length} bytes long, not ${SHA256_LENGTH}`, details);
  }
  let checkpoint: CheckpointTable | undefined;
  if (msg.checkpoint) {
    const table = tableFromWire(msg.checkpoint);
    const problem = typeof table === "string" ? table : tableProblem(table, chunks.map((c) => c.size));
    if (problem) throw malformed(noun, `its checkpoint table is invalid: ${problem}`, details);
    checkpoint = table as CheckpointTable;
    if (hasPacks(checkpoint) && msg.formatVersion < OBJECT_MANIFEST_FORMAT) throw malformed(noun, `its checkpoint table has packed entries but its format is ${msg.formatVersion}, not ${OBJECT_MANIFEST_FORMAT}`, details);
  }
  return {
    formatVersion: msg.formatVersion,
    size,
    chunks,
    contentType: msg.contentType,
    sha256: new Uint8Array(msg.sha256),
    labels: Object.fromEntries(sortedLabels(msg.labels)),
    ...(checkpoint ? { checkpoint } : {}),
  };
}

function sortedLabels(labels: Record<string, string>): [string, string][] {
  return sortedByUtf8(labels);
}
