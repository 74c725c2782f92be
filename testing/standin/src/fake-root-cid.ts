import { createHash } from "node:crypto";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

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
  // CIDv1 = <version 0x01><codec 0x70 dag-pb><multihash: 0x12 sha2-256, 0x20 length, digest>
  const cid = Buffer.concat([Buffer.from([0x01, 0x70, 0x12, 0x20]), digest]);
  return `b${base32(cid)}`;
}
