import { createHash, type Hash } from "node:crypto";
import { O3mlError } from "@o3ml/errors";

/** Length in bytes of a sha2-256 digest. */
export const SHA256_LENGTH = 32;

/**
 * One-shot sha2-256 of `bytes`. Only the view is hashed: a Buffer slice or a
 * subarray hashes its own bytes, not the whole ArrayBuffer behind it.
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  return toPlainBytes(createHash("sha256").update(bytes).digest());
}

/** An incremental sha2-256 of a whole object, fed as it streams past. */
export interface Sha256 {
  /** Adds bytes; returns the hasher so calls can be chained. */
  update(data: Uint8Array): Sha256;
  /** The digest of everything added. Ends the hash: further update() calls throw. */
  digest(): Uint8Array;
  /** The digest as lowercase hex; the same value as digest(). */
  digestHex(): string;
  /** Number of bytes added so far. */
  readonly bytes: number;
}

/**
 * Creates an incremental hasher backed by node:crypto. digest() and digestHex()
 * may both be called, in any order and repeatedly: the result is computed once.
 */
export function createSha256(): Sha256 {
  const hash: Hash = createHash("sha256");
  let result: Uint8Array | undefined;
  let count = 0;
  const self: Sha256 = {
    update(data) {
      if (result) {
        throw new O3mlError(
          "FAILED_PRECONDITION",
          "sha256: update() called after digest(); create a new hasher for each object",
        );
      }
      hash.update(data);
      count += data.length;
      return self;
    },
    digest() {
      result ??= toPlainBytes(hash.digest());
      return result;
    },
    digestHex() {
      return toHex(self.digest());
    },
    get bytes() {
      return count;
    },
  };
  return self;
}

/** Lowercase hex of `bytes`, as digests are shown in messages and logs. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");
}

// Digests leave this package as plain Uint8Arrays that own their 32 bytes: a
// Buffer's slice() returns a view instead of a copy (a trap for callers typed
// against Uint8Array), and a pooled Buffer shares its ArrayBuffer with others.
function toPlainBytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf);
}
