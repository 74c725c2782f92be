import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateBucketName } from "./bucket-name.js";
import { compareKeys } from "./listing.js";
import { resolveTuning } from "./transfer-options.js";

describe("bucket names", () => {
  it("accepts every name made by Akave's rule", () => {
    const inner = fc.stringMatching(/^[a-z0-9-]{1,61}$/);
    const edge = fc.stringMatching(/^[a-z0-9]$/);
    fc.assert(fc.property(edge, inner, edge, (a, mid, b) => validateBucketName(a + mid + b) === undefined));
  });

  it("rejects the rest, naming the rule and the name", () => {
    for (const bad of ["", "ab", "A1b", "-ab", "ab-", "a_b", "a.b.c", "a b", "x".repeat(64), "é-bucket"]) {
      expect(() => validateBucketName(bad)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringContaining(JSON.stringify(bad)) }));
    }
  });
});

describe("compareKeys", () => {
  it("orders by UTF-8 bytes, as S3 lists", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        return Math.sign(compareKeys(a, b)) === Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      }),
    );
    expect(compareKeys("\uFFFD", "\u{1D11E}")).toBeLessThan(0);
    expect("\uFFFD" < "\u{1D11E}").toBe(false);
  });
});

describe("transfer options", () => {
  it("refuses parts below Akave's 5 MiB minimum and nonsense sizes", () => {
    expect(() => resolveTuning({ partSize: 5 * 1024 * 1024 - 1 })).toThrow(/at least 5242880 bytes \(5 MiB, Akave's minimum/);
    expect(() => resolveTuning({ partSize: 6 * 1024 * 1024 + 0.5 })).toThrow(/partSize must be an integer/);
    expect(() => resolveTuning({ queueSize: 0 })).toThrow(/queueSize/);
    expect(() => resolveTuning({ multipartThreshold: 0 })).toThrow(/multipartThreshold/);
    expect(resolveTuning({ partSize: undefined })).toEqual({ multipartThreshold: 64 * 1024 * 1024, partSize: 16 * 1024 * 1024, queueSize: 4 });
  });
});
