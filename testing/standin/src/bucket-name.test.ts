import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bucketNameProblem } from "./bucket-name.js";

describe("Akave bucket names", () => {
  it("accepts 3 to 63 lowercase letters, digits and hyphens, alphanumeric at both ends", () => {
    const inner = fc.stringMatching(/^[a-z0-9-]{1,61}$/);
    const edge = fc.constantFrom(..."abcxyz0189");
    fc.assert(fc.property(edge, inner, edge, (a, mid, z) => {
        expect(bucketNameProblem(a + mid + z)).toBeUndefined();
      }));
    expect(bucketNameProblem("abc")).toBeUndefined();
    expect(bucketNameProblem("a".repeat(63))).toBeUndefined();
  });

  it("refuses everything else, saying why", () => {
    expect(bucketNameProblem("ab")).toMatch(/3 to 63/);
    expect(bucketNameProblem("a".repeat(64))).toMatch(/3 to 63/);
    expect(bucketNameProblem("My-Bucket")).toMatch(/lowercase/);
    expect(bucketNameProblem("my.bucket")).toMatch(/lowercase/);
    expect(bucketNameProblem("my_bucket")).toMatch(/lowercase/);
    expect(bucketNameProblem("-bucket")).toMatch(/start and end/);
    expect(bucketNameProblem("bucket-")).toMatch(/start and end/);
    fc.assert(
      fc.property(fc.string({ minLength: 3, maxLength: 63 }).filter((s) => /[^a-z0-9-]/.test(s)), (s) => {
        expect(bucketNameProblem(s)).toBeDefined();
      }),
    );
  });
});
