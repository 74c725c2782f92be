import { createHash } from "node:crypto";
import { CID } from "multiformats/cid";
import { create as createDigest } from "multiformats/hashes/digest";

/** Multicodec codes: dag-pb (the codec of IPFS/Akave file roots; multiformats names only raw and json) and sha2-256. */
const DAG_PB = 0x70;
const SHA2_256 = 0x12;

/**
 * A stand-in for the `Network-Root-Cid` Akave reports once an object is on
 * its network. It is a well-formed CIDv1 (base32 multibase, dag-pb codec,
 * sha2-256 multihash, so it reads `bafybei…` like an IPFS/Akave root), but
 * the digest is sha256(bucket, key, etag), not the hash of a real DAG: it is
 * stable for the same object version and distinct between versions, and
 * that is all a client may rely on.
 */
export function fakeRootCid(bucket: string, key: string, etag: string): string {
  const digest = createHash("sha256").update(`${bucket}\0${key}\0${etag}`).digest();
  return CID.createV1(DAG_PB, createDigest(SHA2_256, digest)).toString();
}
