import { allocChunk, checkChunkSize, type Chunker } from "./chunker.js";

/**
 * Cuts a stream into chunks of exactly `size` bytes; only the last may be
 * shorter. An empty stream gives no chunks.
 *
 * Each input byte is copied once, into a chunk-sized buffer allocated when the
 * chunk starts; a full buffer is handed to the caller as the chunk and never
 * touched again, so chunks alias nothing and copying stays linear.
 */
export function fixedChunker(size: number): Chunker {
  checkChunkSize("size", size);
  let buf: Uint8Array | undefined;
  let filled = 0;

  return {
    push(data) {
      const out: Uint8Array[] = [];
      let off = 0;
      while (off < data.length) {
        // Allocated lazily so that an empty stream, or a stream that ends on a
        // boundary, costs no buffer.
        buf ??= allocChunk(size);
        const n = Math.min(size - filled, data.length - off);
        buf.set(data.subarray(off, off + n), filled);
        filled += n;
        off += n;
        if (filled === size) {
          out.push(buf);
          buf = undefined;
          filled = 0;
        }
      }
      return out;
    },
    finish() {
      const out: Uint8Array[] = [];
      if (buf && filled > 0) {
        // Copied to its exact length so a short tail does not pin a full-size buffer.
        const last = allocChunk(filled);
        last.set(buf.subarray(0, filled));
        out.push(last);
      }
      buf = undefined;
      filled = 0;
      return out;
    },
  };
}
