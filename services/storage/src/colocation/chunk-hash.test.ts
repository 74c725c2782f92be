import { describe, expect, it } from "vitest";
import { PackPlan } from "../checkpoints/entry-packs.js";
import { fastDigest } from "./chunk-hash.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("the service's XXH3 agrees with the trainer's", () => {
  // The trainer's digests (Python's xxhash, the reference C library) are what Recall matches the
  // service's own against: these values are that library's, for the same bytes.
  it("gives the XXH3-128 of the reference implementation, big-endian", () => {
    const pattern = new Uint8Array(100_000).map((_, i) => (i * 31) & 255);
    expect(hex(fastDigest(new Uint8Array(0)))).toBe("99aa06d3014798d86001c324468d497f");
    expect(hex(fastDigest(pattern.subarray(0, 17)))).toBe("340f6f9202ad1131a378e80882221151");
    expect(hex(fastDigest(pattern))).toBe("8caf37b280b5a9be68ebefe8fa7c5395");
    // A view into a larger buffer hashes only its own bytes.
    expect(hex(fastDigest(pattern.subarray(0, 17).slice()))).toBe(hex(fastDigest(pattern.subarray(0, 17))));
  });

  it("ends a pack after a name whose XXH3-64 is 0 modulo 16, as stored checkpoints were cut", () => {
    // "w34" is the first of w0..w99 whose XXH3-64 is 0 modulo 16 (reference implementation).
    const plan = new PackPlan(1 << 20);
    const places = ["w33", "w34", "w35", "w36"].map((name) => plan.place({ name, nbytes: 10 }));
    expect(places.map((p) => [p.pack, p.offset])).toEqual([
      [0, 0],
      [0, 10],
      [1, 0],
      [1, 10],
    ]);
    expect(places[2]!.closed).toBe(0);
  });
});
