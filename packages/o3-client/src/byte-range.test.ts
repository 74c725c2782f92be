import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { O3mlError } from "@o3ml/errors";
import { readBody } from "./body-stream.js";
import { rangeHeader, sliceBytes, sliceStream, validateRange } from "./byte-range.js";

async function drain(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

async function* inChunks(data: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const cut of [...cuts.map((c) => c % (data.length + 1))].sort((a, b) => a - b)) {
    yield data.subarray(at, Math.max(at, cut));
    at = Math.max(at, cut);
  }
  yield data.subarray(at);
}

describe("byte ranges", () => {
  it("sliceStream over any chunking equals sliceBytes, which equals S3's ranged GET semantics", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.nat({ max: 350 }),
        fc.integer({ min: 1, max: 350 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (data, offset, length, cuts) => {
          const range = { offset, length };
          if (offset >= data.length) {
            expect(() => sliceBytes(data, range, "k")).toThrow(O3mlError);
            await expect(drain(sliceStream(inChunks(data, cuts), range, "k"))).rejects.toThrow(/lies outside/);
            return;
          }
          const want = Buffer.from(data.subarray(offset, Math.min(data.length, offset + length)));
          expect(Buffer.from(sliceBytes(data, range, "k")).equals(want)).toBe(true);
          expect((await drain(sliceStream(inChunks(data, cuts), range, "k"))).equals(want)).toBe(true);
        },
      ),
    );
  });

  it("formats the Range header inclusively", () => {
    expect(rangeHeader({ offset: 0, length: 1 })).toBe("bytes=0-0");
    expect(rangeHeader({ offset: 100, length: 10 })).toBe("bytes=100-109");
  });

  it("rejects negative or fractional ranges", () => {
    for (const r of [{ offset: -1, length: 1 }, { offset: 0, length: -1 }, { offset: 0.5, length: 1 }, { offset: 0, length: Infinity }]) {
      expect(() => validateRange(r, "k")).toThrow(/non-negative integers/);
    }
  });

  it("readBody fails a body shorter or longer than announced", async () => {
    const data = new Uint8Array(10);
    expect((await drain(readBody(inChunks(data, [3]), 10, 0, "k"))).length).toBe(10);
    await expect(drain(readBody(inChunks(data, [3]), 11, 0, "k"))).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await expect(drain(readBody(inChunks(data, [3]), 9, 0, "k"))).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });
});
