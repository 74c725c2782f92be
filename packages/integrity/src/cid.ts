/**
 * Content identifiers. Every blob and manifest in a repository is named by a
 * CIDv1 with the raw codec (0x55) and a sha2-256 multihash, written in its
 * canonical base32 string form ("bafkrei…"). The string is also the object key
 * suffix (o3ml/v1/blobs/<cid>), so exactly one spelling is accepted.
 */
import { O3mlError } from "@o3ml/errors";
import { CID } from "multiformats/cid";
import { create as createDigest } from "multiformats/hashes/digest";
import { code as RAW_CODE } from "multiformats/codecs/raw";
import { SHA256_LENGTH, sha256, toHex } from "./sha256.js";

/** Multihash code of sha2-256. */
const SHA2_256_CODE = 0x12;

/** The CID of `bytes`: CIDv1, raw codec, sha2-256, base32. Hashes only the view. */
export function cidOf(bytes: Uint8Array): string {
  // node:crypto hashes synchronously and fast; multiformats' own sha256 is async.
  return CID.createV1(RAW_CODE, createDigest(SHA2_256_CODE, sha256(bytes))).toString();
}

/** The CID of bytes whose sha2-256 `digest` was computed elsewhere (a worker thread). */
export function cidOfDigest(digest: Uint8Array): string {
  if (digest.byteLength !== SHA256_LENGTH) throw new O3mlError("INTERNAL", `a sha2-256 digest is ${SHA256_LENGTH} bytes, not ${digest.byteLength}`);
  return CID.createV1(RAW_CODE, createDigest(SHA2_256_CODE, digest)).toString();
}

/**
 * The sha2-256 digest `cid` names: the inverse of cidOfDigest, for a store that checks a
 * payload hash or a hash computed as the bytes stream. Throws as parseCid does.
 */
export function digestOfCid(cid: string): Uint8Array {
  return parseCid(cid).multihash.digest;
}

/**
 * Parses a CID string and checks it is the one kind o3ml writes.
 * Throws INVALID_ARGUMENT naming the string and what is wrong with it.
 */
export function parseCid(s: string): CID {
  const shown = typeof s === "string" ? JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s) : String(s);
  const refuse = (why: string, cause?: unknown): O3mlError =>
    new O3mlError(
      "INVALID_ARGUMENT",
      `${shown} is not an o3ml CID: ${why}; o3ml names blobs by CIDv1, raw codec, sha2-256, in base32 ("bafkrei…")`,
      { cid: typeof s === "string" ? s : undefined },
      cause === undefined ? undefined : { cause },
    );
  if (typeof s !== "string" || s.length === 0) throw refuse("expected a non-empty string");
  let cid: CID;
  try {
    cid = CID.parse(s);
  } catch (err) {
    throw refuse(`it does not parse (${(err as Error).message})`, err);
  }
  if (cid.version !== 1) throw refuse(`it is a CIDv${cid.version}`);
  if (cid.code !== RAW_CODE) throw refuse(`its codec is 0x${cid.code.toString(16)}, not raw (0x55)`);
  if (cid.multihash.code !== SHA2_256_CODE) {
    throw refuse(`its hash is multihash 0x${cid.multihash.code.toString(16)}, not sha2-256 (0x12)`);
  }
  if (cid.multihash.size !== SHA256_LENGTH) throw refuse(`its digest is ${cid.multihash.size} bytes, not 32`);
  // Keys are derived from the string, so another multibase or letter case of
  // the same CID would name a different object.
  if (cid.toString() !== s) throw refuse(`it is not in canonical form (expected ${cid.toString()})`);
  return cid;
}

/** True when `s` is a CID that parseCid accepts. */
export function isCid(s: string): boolean {
  try {
    parseCid(s);
    return true;
  } catch {
    return false;
  }
}

/** What a blob is, for error messages: its object key and/or a noun such as "manifest". */
export interface BlobContext {
  key?: string;
  what?: string;
}

/**
 * Checks that `bytes` hash to `cid`. Throws INTEGRITY when they do not, and
 * INVALID_ARGUMENT when `cid` itself is not an o3ml CID. Call it on every blob
 * read back from storage, before the bytes are used.
 */
export function verifyBlob(cid: string, bytes: Uint8Array, context: BlobContext = {}): void {
  const expected = digestOfCid(cid);
  const actual = sha256(bytes);
  if (equalBytes(expected, actual)) return;
  const noun = context.what || "blob";
  throw new O3mlError(
    "INTEGRITY",
    `${noun} ${cid}${context.key ? ` at ${context.key}` : ""} failed verification: ` +
      `expected sha2-256 ${toHex(expected)}, got ${toHex(actual)} over ${bytes.length} bytes; ` +
      `the stored ${noun} was altered or truncated; run \`o3ml verify\` and restore it from another copy`,
    { cid, key: context.key, bytes: bytes.length },
  );
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
