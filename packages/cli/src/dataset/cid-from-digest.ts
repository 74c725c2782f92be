/**
 * The CID o3ml names a blob by (CIDv1, raw codec, sha2-256, base32 lower
 * without padding: "bafkrei…") from a sha2-256 digest already computed while
 * the bytes streamed past, so a 64 MiB shard need not be read again.
 * @o3ml/integrity's cidOf gives the same string from the bytes themselves.
 */
const PREFIX = [0x01, 0x55, 0x12, 0x20]; // CIDv1, raw, sha2-256, 32 bytes
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

export function cidFromDigest(digest: Uint8Array): string {
  if (digest.length !== 32) throw new Error(`a sha2-256 digest has 32 bytes, got ${digest.length}`);
  const bytes = [...PREFIX, ...digest];
  let out = "b";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
