import type { Readable } from "node:stream";
import { O3mlError } from "@o3ml/errors";

/** S3's limit on the UTF-8 length of a key. */
export const MAX_KEY_BYTES = 1024;

/** Throws INVALID_ARGUMENT for an empty key or one longer than S3 allows. */
export function validateKey(key: string): void {
  if (typeof key !== "string" || key.length === 0) {
    throw new O3mlError("INVALID_ARGUMENT", "object key must be a non-empty string");
  }
  const bytes = Buffer.byteLength(key, "utf8");
  if (bytes > MAX_KEY_BYTES) {
    throw new O3mlError("INVALID_ARGUMENT", `object key of ${bytes} bytes is longer than the ${MAX_KEY_BYTES} bytes S3 allows: ${JSON.stringify(key.slice(0, 80))}…`);
  }
}

/** A source that counts the bytes passing through it; `size` is final once it has been read to the end. */
export interface CountedSource extends AsyncIterable<Uint8Array> {
  readonly size: number;
}

/** Wraps a stream or async iterable; text chunks (a stream with an encoding set) become UTF-8 bytes. */
export function countBytes(source: Readable | AsyncIterable<Uint8Array | string>): CountedSource {
  let size = 0;
  return {
    get size() {
      return size;
    },
    async *[Symbol.asyncIterator]() {
      for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
        size += bytes.byteLength;
        yield bytes;
      }
    },
  };
}
