/**
 * The chunker contract shared by fixed-size and content-defined chunking.
 *
 * A chunker cuts a byte stream, fed in pieces of any size, into chunks. The
 * chunks it returns MUST depend only on the concatenated input, never on how
 * it was split into push() calls, and their concatenation MUST equal the input.
 * Every returned chunk owns its memory: it never aliases the caller's buffers
 * (which may be reused once push() returns) nor memory the chunker reuses.
 */
import { O3mlError } from "@o3ml/errors";

export interface Chunker {
  /** Feeds bytes; returns the chunks completed by them (often none). */
  push(data: Uint8Array): Uint8Array[];
  /**
   * Ends the stream; returns the last, possibly short, chunk (none if the
   * stream was empty or ended on a boundary). The chunker is then reset and
   * may cut another stream.
   */
  finish(): Uint8Array[];
}

/** Largest chunk any chunker will produce: memory is bounded by concurrency × chunk size. */
export const MAX_CHUNK_SIZE = 1 << 30;

/** Cuts an async byte stream into chunks, yielding each as soon as it is complete. */
export async function* chunkStream(source: AsyncIterable<Uint8Array>, chunker: Chunker): AsyncGenerator<Uint8Array> {
  for await (const data of source) {
    for (const chunk of chunker.push(data)) yield chunk;
  }
  for (const chunk of chunker.finish()) yield chunk;
}

/**
 * Allocates a chunk's memory: uninitialised (every byte is written before the
 * chunk is returned), not from Node's shared pool, and typed as a plain
 * Uint8Array so slice() copies as callers expect.
 */
export function allocChunk(size: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** Throws INVALID_ARGUMENT unless `value` is an integer in [1, MAX_CHUNK_SIZE]. */
export function checkChunkSize(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_CHUNK_SIZE) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `chunker option ${name} must be a whole number of bytes from 1 to ${MAX_CHUNK_SIZE}, got ${String(value)}; ` +
        "pass a size such as 4194304 (4 MiB)",
      { option: name },
    );
  }
  return value;
}
