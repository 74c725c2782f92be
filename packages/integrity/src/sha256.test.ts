import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isO3mlError } from "@o3ml/errors";
import { createSha256, sha256, toHex } from "./sha256.js";

describe("sha256", () => {
  it("matches the FIPS 180-2 test vector", () => {
    expect(toHex(sha256(new TextEncoder().encode("abc")))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("hashes only the bytes of a view, not the buffer behind it", () => {
    const whole = new Uint8Array(100).map((_, i) => i);
    const view = whole.subarray(10, 20);
    expect(toHex(sha256(view))).toBe(toHex(sha256(Uint8Array.from(view))));
    expect(toHex(sha256(view))).not.toBe(toHex(sha256(whole)));
  });

  it("gives the one-shot digest however the input is split", () => {
    const cutLists = fc.array(fc.nat(2000), { maxLength: 10, size: "max" });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000, size: "max" }), cutLists, (data, cuts) => {
        const h = createSha256();
        let from = 0;
        for (const cut of [...cuts].sort((a, b) => a - b)) {
          h.update(data.subarray(from, Math.max(from, cut)));
          from = Math.max(from, cut);
        }
        h.update(data.subarray(from));
        expect(h.bytes).toBe(data.length);
        expect(h.digestHex()).toBe(toHex(sha256(data)));
        expect(toHex(h.digest())).toBe(h.digestHex());
      }),
    );
  });

  it("refuses updates after the digest was taken", () => {
    const h = createSha256().update(new Uint8Array([1]));
    h.digest();
    let caught: unknown;
    try {
      h.update(new Uint8Array([2]));
    } catch (err) {
      caught = err;
    }
    expect(isO3mlError(caught, "FAILED_PRECONDITION")).toBe(true);
  });
});
