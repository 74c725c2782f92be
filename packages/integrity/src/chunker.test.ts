// Properties every Chunker must have, run against each implementation.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { cdcChunker, type CdcOptions } from "./cdc-chunker.js";
import { chunkStream, type Chunker } from "./chunker.js";
import { fixedChunker } from "./fixed-chunker.js";
import { cidOf } from "./cid.js";

// Shrinking a failing multi-kilobyte input can take minutes; stop after a
// while and report the smallest counterexample found so far.
fc.configureGlobal({ ...fc.readConfigureGlobal(), interruptAfterTimeLimit: 30_000 });

/**
 * Feeds `data` split at `cuts`, passing each piece through one scratch buffer
 * that is overwritten after every push(): a chunk aliasing caller memory, or
 * memory the chunker reuses, shows up as corrupted bytes.
 */
function chunkSplit(chunker: Chunker, data: Uint8Array, cuts: number[]): Uint8Array[] {
  const bounds = [...new Set(cuts.map((c) => Math.min(c, data.length)))].sort((a, b) => a - b);
  const scratch = new Uint8Array(data.length);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const to of [...bounds, data.length]) {
    const piece = scratch.subarray(0, to - from);
    piece.set(data.subarray(from, to));
    out.push(...chunker.push(piece));
    piece.fill(0xa5);
    from = to;
  }
  out.push(...chunker.finish());
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(chunks));
}

const cdcOptions: fc.Arbitrary<CdcOptions> = fc
  .tuple(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 800 }))
  .map(([minSize, a, b]) => ({ minSize, avgSize: minSize + a, maxSize: minSize + a + b }));

// Random bytes, and low-entropy bytes on which a gear hash can get stuck.
const streams = fc.oneof(
  fc.uint8Array({ maxLength: 4000, size: "max" }),
  fc.uint8Array({ max: 1, maxLength: 4000, size: "max" }),
);
const cutLists = fc.array(fc.nat(4000), { maxLength: 20, size: "max" });

/** A chunker factory that names its options in counterexamples. */
function maker(label: string, make: () => Chunker): () => Chunker {
  return Object.assign(make, { [fc.toStringMethod]: () => label });
}

const implementations: [string, fc.Arbitrary<() => Chunker>][] = [
  ["fixedChunker", fc.integer({ min: 1, max: 700 }).map((n) => maker(`fixedChunker(${n})`, () => fixedChunker(n)))],
  ["cdcChunker", cdcOptions.map((o) => maker(`cdcChunker(${JSON.stringify(o)})`, () => cdcChunker(o)))],
];

describe.each(implementations)("%s", (_, makers) => {
  it("cuts the same chunks however the input is split", () => {
    fc.assert(
      fc.property(makers, streams, cutLists, (make, data, cuts) => {
        const whole = chunkSplit(make(), data, []).map(cidOf);
        expect(chunkSplit(make(), data, cuts).map(cidOf)).toEqual(whole);
      }),
    );
  });

  it("cuts the same chunks when fed one byte at a time", () => {
    fc.assert(
      fc.property(makers, fc.uint8Array({ maxLength: 1500, size: "max" }), (make, data) => {
        const bytewise = chunkSplit(make(), data, Array.from({ length: data.length }, (_, i) => i));
        expect(bytewise.map(cidOf)).toEqual(chunkSplit(make(), data, []).map(cidOf));
      }),
      { numRuns: 30 },
    );
  });

  it("returns chunks whose concatenation is the input, none of them empty", () => {
    fc.assert(
      fc.property(makers, streams, cutLists, (make, data, cuts) => {
        const chunks = chunkSplit(make(), data, cuts);
        expect(Buffer.from(concat(chunks)).equals(Buffer.from(data))).toBe(true);
        for (const c of chunks) expect(c.length).toBeGreaterThan(0);
      }),
    );
  });

  it("can cut a second stream after finish()", () => {
    fc.assert(
      fc.property(makers, streams, streams, (make, a, b) => {
        const chunker = make();
        chunkSplit(chunker, a, [7]);
        expect(chunkSplit(chunker, b, []).map(cidOf)).toEqual(chunkSplit(make(), b, []).map(cidOf));
      }),
      { numRuns: 50 },
    );
  });

  it("streams the same chunks through chunkStream", async () => {
    await fc.assert(
      fc.asyncProperty(makers, streams, cutLists, async (make, data, cuts) => {
        const inner = [...new Set(cuts.map((c) => Math.min(c, data.length)))].sort((x, y) => x - y);
        const bounds = [0, ...inner, data.length];
        async function* source(): AsyncGenerator<Uint8Array> {
          for (let i = 1; i < bounds.length; i++) yield data.slice(bounds[i - 1], bounds[i]);
        }
        const streamed: string[] = [];
        for await (const chunk of chunkStream(source(), make())) streamed.push(cidOf(chunk));
        expect(streamed).toEqual(chunkSplit(make(), data, []).map(cidOf));
      }),
      { numRuns: 50 },
    );
  });
});

describe("chunkStream", () => {
  it("yields each chunk as soon as it is complete, before the source ends", async () => {
    async function* source(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(10).fill(1);
      throw new Error("source failed after the first piece");
    }
    const stream = chunkStream(source(), fixedChunker(4));
    expect((await stream.next()).value).toEqual(new Uint8Array(4).fill(1));
    expect((await stream.next()).value).toEqual(new Uint8Array(4).fill(1));
    await expect(stream.next()).rejects.toThrow("source failed");
  });
});
