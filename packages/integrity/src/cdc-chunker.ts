/**
 * Content-defined chunking (FastCDC with normalized chunking, Xia et al.,
 * USENIX ATC 2016).
 *
 * A gear hash rolls over the input: h = (h << 1) + GEAR[byte], in 32 bits, so
 * h depends on the last 32 bytes only. A chunk ends after a byte where chosen
 * high bits of h are all zero. Because that test looks only at nearby content,
 * an insertion or deletion moves the boundaries around it and the chunking
 * falls back into step shortly after: later chunks keep their CIDs, which is
 * what lets a changed object deduplicate against its earlier version.
 *
 * Normalized chunking pulls sizes towards avgSize: below it a stricter mask
 * (log2(avg) + 2 bits) makes a cut unlikely, above it a looser one
 * (log2(avg) - 2 bits) makes it likely. No chunk is shorter than minSize
 * (except the last) or longer than maxSize.
 *
 * Boundaries depend on GEAR, the masks and the sizes: together they are part of
 * the dedup contract (see gear-table.ts).
 */
import { O3mlError } from "@o3ml/errors";
import { allocChunk, checkChunkSize, type Chunker } from "./chunker.js";
import { GEAR } from "./gear-table.js";

export interface CdcOptions {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

/** Bits the masks are moved away from log2(avgSize) (FastCDC's "NC level 2"). */
const NORMALIZATION = 2;
/** Bytes of history the gear hash sees: older bytes are shifted out of 32 bits. */
const WINDOW = 32;

/** A mask of the `bits` highest bits: the high bits of h depend on the most bytes. */
function highMask(bits: number): number {
  const b = Math.max(0, Math.min(32, bits));
  return b === 0 ? 0 : (0xffffffff << (32 - b)) | 0;
}

export function cdcChunker(options: CdcOptions): Chunker {
  const minSize = checkChunkSize("minSize", options?.minSize);
  const avgSize = checkChunkSize("avgSize", options?.avgSize);
  const maxSize = checkChunkSize("maxSize", options?.maxSize);
  if (!(minSize <= avgSize && avgSize <= maxSize)) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `chunker options must satisfy minSize <= avgSize <= maxSize, got ${minSize}, ${avgSize}, ${maxSize}; ` +
        "a usual choice is minSize = avgSize / 4 and maxSize = avgSize * 4",
      { minSize, avgSize, maxSize },
    );
  }
  const bits = Math.round(Math.log2(avgSize));
  const maskS = highMask(bits + NORMALIZATION);
  const maskL = highMask(bits - NORMALIZATION);
  // Hashing starts WINDOW bytes before the first possible cut, so the first
  // test already sees a full window: with minSize >= 32, every cut test is a
  // function of the 32 bytes before it alone, wherever the chunk began.
  const hashFrom = Math.max(0, minSize - WINDOW);

  // The current, unfinished chunk: bytes carried over from earlier push() calls.
  // The carry buffer grows by doubling up to maxSize, so small streams stay small.
  let pending = new Uint8Array(0);
  let pendingLen = 0;
  let len = 0; // length of the current chunk scanned so far
  let h = 0; // gear hash of its last WINDOW bytes

  /**
   * Scans `data` from `start` for the end of the current chunk. Returns the
   * index just past the cut, or -1 when the data ran out first; `len` and `h`
   * then carry the state into the next call, so a split input scans the same.
   */
  function scan(data: Uint8Array, start: number): number {
    const n = data.length;
    const gear = GEAR; // locals, not closure slots, in the hot loops
    const strict = maskS;
    const loose = maskL;
    const base = len - start; // the chunk is `base + i` bytes long once data[0, i) is scanned
    let x = h;
    // Each phase covers the bytes whose inclusion makes the chunk a given
    // length L; bounds are computed once so the hot loops stay minimal.
    // L <= hashFrom: the bytes cannot reach any tested hash; skip them.
    let i = Math.min(n, Math.max(start, hashFrom - base));
    // L < minSize: hash, never cut.
    let stop = Math.min(n, minSize - 1 - base);
    for (; i < stop; i++) x = ((x << 1) + gear[data[i]!]!) | 0;
    // minSize <= L < avgSize: cut on the strict mask.
    stop = Math.min(n, avgSize - 1 - base);
    for (; i < stop; i++) {
      x = ((x << 1) + gear[data[i]!]!) | 0;
      if ((x & strict) === 0) return i + 1;
    }
    // avgSize <= L < maxSize: cut on the loose mask.
    stop = Math.min(n, maxSize - 1 - base);
    for (; i < stop; i++) {
      x = ((x << 1) + gear[data[i]!]!) | 0;
      if ((x & loose) === 0) return i + 1;
    }
    // L = maxSize: cut unconditionally.
    if (i < n) return i + 1;
    len = base + n;
    h = x;
    return -1;
  }

  /** Completes the current chunk with data[from, to) and starts a new one. */
  function take(data: Uint8Array, from: number, to: number): Uint8Array {
    const chunk = allocChunk(pendingLen + to - from);
    chunk.set(pending.subarray(0, pendingLen));
    chunk.set(data.subarray(from, to), pendingLen);
    pendingLen = 0;
    len = 0;
    h = 0;
    return chunk;
  }

  /** Copies the unfinished tail of a push() so the caller may reuse its buffer. */
  function carry(rest: Uint8Array): void {
    if (rest.length === 0) return;
    const need = pendingLen + rest.length;
    if (need > pending.length) {
      const grown = new Uint8Array(Math.min(maxSize, Math.max(need, 2 * pending.length, 64 * 1024)));
      grown.set(pending.subarray(0, pendingLen));
      pending = grown;
    }
    pending.set(rest, pendingLen);
    pendingLen = need;
  }

  return {
    push(data) {
      const out: Uint8Array[] = [];
      let from = 0;
      while (from < data.length) {
        const end = scan(data, from);
        if (end < 0) break;
        out.push(take(data, from, end));
        from = end;
      }
      carry(data.subarray(from));
      return out;
    },
    finish() {
      const out: Uint8Array[] = [];
      // The carried bytes are the whole last chunk: take() adds nothing more.
      if (pendingLen > 0) out.push(take(pending, pendingLen, pendingLen));
      pending = new Uint8Array(0); // release the carry buffer between streams
      pendingLen = 0;
      len = 0;
      h = 0;
      return out;
    },
  };
}
