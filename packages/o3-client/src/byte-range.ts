import { O3mlError } from "@o3ml/errors";

/** A byte range of an object: `length` bytes from `offset`, cut short at the object's end. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Throws INVALID_ARGUMENT unless offset and length are non-negative safe integers. */
export function validateRange(range: ByteRange, key: string): void {
  const ok = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!ok(range.offset) || !ok(range.length)) {
    throw new O3mlError("INVALID_ARGUMENT", `invalid byte range offset=${range.offset} length=${range.length} for ${JSON.stringify(key)}: both must be non-negative integers`, {
      key,
    });
  }
}

/** The HTTP Range header value for a non-empty range. */
export function rangeHeader(range: ByteRange): string {
  return `bytes=${range.offset}-${range.offset + range.length - 1}`;
}

export function outOfRange(key: string, offset: number, size: number): O3mlError {
  return new O3mlError("INVALID_ARGUMENT", `byte range starting at ${offset} lies outside ${JSON.stringify(key)} (${size} bytes)`, { key, offset, size });
}

/**
 * The bytes of `range` within a whole object, with the semantics of an S3
 * ranged GET: a range running past the end is cut short, one starting at or
 * past the end is an error.
 */
export function sliceBytes(data: Uint8Array, range: ByteRange, key: string): Uint8Array {
  if (range.offset >= data.byteLength) throw outOfRange(key, range.offset, data.byteLength);
  return data.subarray(range.offset, Math.min(data.byteLength, range.offset + range.length));
}

/**
 * Streams the bytes of `range` out of a stream of the whole object, same
 * semantics as sliceBytes. Stops reading (and so releases the source) once
 * the range has been passed on.
 */
export async function* sliceStream(source: AsyncIterable<Uint8Array>, range: ByteRange, key: string): AsyncGenerator<Uint8Array> {
  const end = range.offset + range.length;
  let pos = 0;
  for await (const chunk of source) {
    const from = Math.max(0, range.offset - pos);
    const to = Math.min(chunk.byteLength, end - pos);
    pos += chunk.byteLength;
    if (to > from) yield chunk.subarray(from, to);
    if (pos >= end) return;
  }
  if (pos <= range.offset) throw outOfRange(key, range.offset, pos);
}
