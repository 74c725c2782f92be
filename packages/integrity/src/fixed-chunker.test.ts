import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isO3mlError } from "@o3ml/errors";
import { fixedChunker } from "./fixed-chunker.js";

function chunkAll(size: number, pieces: Uint8Array[]): Uint8Array[] {
  const c = fixedChunker(size);
  return [...pieces.flatMap((p) => c.push(p)), ...c.finish()];
}

describe("fixedChunker", () => {
  it("cuts chunks of exactly `size` bytes, except a shorter last one", () => {
    const pieceLists = fc.array(fc.uint8Array({ maxLength: 500, size: "max" }), { maxLength: 12, size: "max" });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), pieceLists, (size, pieces) => {
        const total = pieces.reduce((n, p) => n + p.length, 0);
        const chunks = chunkAll(size, pieces);
        expect(chunks.length).toBe(Math.ceil(total / size));
        chunks.forEach((c, i) => {
          if (i < chunks.length - 1) expect(c.length).toBe(size);
          else expect(c.length).toBe(total - size * i);
        });
      }),
    );
  });

  it("gives no chunks for an empty stream", () => {
    expect(chunkAll(4, [])).toEqual([]);
    expect(chunkAll(4, [new Uint8Array(0), new Uint8Array(0)])).toEqual([]);
  });

  it("returns chunks that own their memory exactly", () => {
    const chunks = chunkAll(8, [new Uint8Array(20).fill(7)]);
    expect(chunks.map((c) => c.length)).toEqual([8, 8, 4]);
    const buffers = new Set(chunks.map((c) => c.buffer));
    expect(buffers.size).toBe(3);
    for (const c of chunks) {
      expect(c.byteOffset).toBe(0);
      expect(c.buffer.byteLength).toBe(c.length);
      expect(Object.getPrototypeOf(c)).toBe(Uint8Array.prototype);
    }
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 31, "4" as unknown as number])("refuses size %s", (size) => {
    let caught: unknown;
    try {
      fixedChunker(size);
    } catch (err) {
      caught = err;
    }
    expect(isO3mlError(caught, "INVALID_ARGUMENT")).toBe(true);
    expect((caught as Error).message).toContain("chunker option size");
  });
});
