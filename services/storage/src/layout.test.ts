import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseRefKey, refKey, validateObjectKey } from "./layout.js";

describe("object keys", () => {
  it.each([
    ["", "empty"],
    ["a/../b", "'..'"],
    ["./a", "'.'"],
    ["a\u0000b", "NUL"],
    ["/abs", "start or end"],
    ["dir/", "start or end"],
    ["a//b", "empty path segment"],
    ["a/@ref", "reserved"],
    ["x".repeat(901), "longer"],
  ])("refuses %j with a message saying why", (key, why) => {
    expect(() => validateObjectKey(key)).toThrow(why);
    try {
      validateObjectKey(key);
    } catch (e) {
      expect((e as { code: string }).code).toBe("INVALID_ARGUMENT");
    }
  });

  it("accepts ordinary relative paths", () => {
    for (const k of ["a", "datasets/train-000.tar", "ckpt/epoch=3-step=100.ckpt", "ünïcode/ключ"]) expect(validateObjectKey(k)).toBe(k);
  });

  it("ref keys parse back to their name and id for any valid key", () => {
    const seg = fc.stringMatching(/^[a-zA-Z0-9._=-]{1,12}$/).filter((s) => s !== "." && s !== "..");
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 5 }), fc.stringMatching(/^[0-9A-Z]{26}$/), (segs, id) => {
        const name = segs.join("/");
        expect(parseRefKey("objects", refKey("objects", name, id))).toEqual({ name, id });
      }),
    );
  });
});
