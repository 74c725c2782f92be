/**
 * Refs: the commit records of a repository (docs/architecture.md, Bucket format), stored at
 * o3ml/v1/refs/<kind>/<name>/<sortable-id>. A ref names the manifest a name
 * points to (or records its deletion); it is written last, after every blob and
 * the manifest, and never overwritten, so a reader that finds a ref finds a
 * complete object. Refs are named by time, not by content, so a decoded ref is
 * checked for shape, and its manifest by the CID it names.
 */
import { O3mlError } from "@o3ml/errors";
import { o3ml } from "@o3ml/proto";
import { isCid, parseCid } from "./cid.js";
import { checkFormatVersion, checkText, checkWhole, decodeWith, malformed } from "./stored-format.js";

/** The Ref format this code writes and the newest it reads. */
export const REF_FORMAT = 1;

/** What a writer supplies: a manifest CID, or `deleted: true` and none. */
export interface RefInput {
  kind: string;
  name: string;
  manifestCid?: string;
  deleted?: boolean;
  createdUnixMs: number;
  /** Size in bytes of what the manifest describes, for listings without reading it. */
  size?: number;
}

/** What a reader gets back: every field present; manifestCid is "" when deleted. */
export interface Ref {
  formatVersion: number;
  kind: string;
  name: string;
  manifestCid: string;
  deleted: boolean;
  createdUnixMs: number;
  size: number;
}

/** Encodes a ref (deterministic: fields in number order, format_version always set). */
export function encodeRef(r: RefInput): Uint8Array {
  const noun = "ref";
  const kind = checkText("kind", r.kind, noun);
  const name = checkText("name", r.name, noun);
  const deleted = r.deleted === true;
  const manifestCid = r.manifestCid ?? "";
  if (deleted && manifestCid !== "") {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `cannot encode ref ${kind}/${name}: a deletion ref names no manifest, got ${manifestCid}`,
    );
  }
  if (!deleted) {
    if (manifestCid === "") {
      throw new O3mlError(
        "INVALID_ARGUMENT",
        `cannot encode ref ${kind}/${name}: it needs a manifestCid, or deleted: true`,
      );
    }
    parseCid(manifestCid);
  }
  return o3ml.v1.Ref.encode(
    o3ml.v1.Ref.create({
      formatVersion: REF_FORMAT,
      kind,
      name,
      manifestCid,
      deleted,
      createdUnixMs: checkWhole("createdUnixMs", r.createdUnixMs, 0, noun),
      size: checkWhole("size", r.size ?? 0, 0, noun),
    }),
  ).finish();
}

/**
 * Decodes a stored ref; `key` (where it was read from) names it in errors.
 * Throws INTEGRITY for malformed bytes and FAILED_PRECONDITION for a newer format.
 */
export function decodeRef(bytes: Uint8Array, key?: string): Ref {
  const noun = key ? `ref at ${key}` : "ref";
  const details = { key };
  const msg = decodeWith((b) => o3ml.v1.Ref.decode(b), bytes, noun, details);
  checkFormatVersion(msg.formatVersion, REF_FORMAT, noun, details);
  if (msg.kind === "" || msg.name === "") throw malformed(noun, "it has no kind or no name", details);
  if (msg.deleted && msg.manifestCid !== "") throw malformed(noun, "it is a deletion but names a manifest", details);
  if (!msg.deleted && !isCid(msg.manifestCid)) {
    throw malformed(noun, `its manifest CID ${JSON.stringify(msg.manifestCid)} is invalid`, details);
  }
  // Absent 64-bit fields decode to a Long default: see manifest.ts.
  const createdUnixMs = Number(msg.createdUnixMs);
  const size = Number(msg.size);
  if (!Number.isSafeInteger(createdUnixMs) || createdUnixMs < 0 || !Number.isSafeInteger(size)) {
    throw malformed(noun, `its created_unix_ms ${createdUnixMs} or size ${size} is out of range`, details);
  }
  return {
    formatVersion: msg.formatVersion,
    kind: msg.kind,
    name: msg.name,
    manifestCid: msg.manifestCid,
    deleted: msg.deleted,
    createdUnixMs,
    size,
  };
}
