import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parsePinKey, parseRefKey, pinKey, refKey, validateObjectKey } from "./layout.js";

describe("object keys", () => {
  it.each([
    ["", "empty"],
    ["a/../b", "'..'"],
    ["./a", "'.'"],
    ["a\u0000b", "U+0000 (a control character)"],
    ["a\u009bb", "U+009B (a C1 control character)"],
    ["a\u2028b", "U+2028 (a line or paragraph separator)"],
    ["a\ud800b", "U+D800 (a lone UTF-16 surrogate"],
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

  it("refuses every C0, DEL and C1 control character and the separators, at any place, and never echoes one raw", () => {
    const refused = [...Array.from({ length: 0x20 }, (_, i) => i), ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i), 0x2028, 0x2029];
    for (const cp of refused) {
      const c = String.fromCodePoint(cp);
      for (const key of [`${c}`, `a${c}b`, `dir/${c}`, `${c}/x`, `a/b${c}c/d`]) {
        let message = "";
        try {
          validateObjectKey(key);
        } catch (e) {
          expect((e as { code: string }).code).toBe("INVALID_ARGUMENT");
          message = (e as Error).message;
        }
        expect(message, `U+${cp.toString(16)} in ${JSON.stringify(key)}`).toContain(`U+${cp.toString(16).toUpperCase().padStart(4, "0")}`);
        // The message names the character; it must not carry it (a C1 CSI would act on the terminal).
        expect(message.includes(c), `U+${cp.toString(16)} echoed`).toBe(false);
      }
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

describe("pin keys", () => {
  it("name the pinned checkpoint, and nothing else does", () => {
    expect(parsePinKey(pinKey("bafkreiabc", "01J0000000000000000000000"))).toBe("bafkreiabc");
    expect(parsePinKey("o3ml/v1/pins/@x")).toBeUndefined();
    expect(parsePinKey(refKey("objects", "bafkreiabc", "01J0000000000000000000000"))).toBeUndefined();
  });
});
