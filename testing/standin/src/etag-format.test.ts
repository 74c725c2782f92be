import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromO3Etag, restoreXmlEtags, rewriteXmlEtags, toO3Etag } from "./etag-format.js";

const digest = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b));

describe("O3 ETag form", () => {
  it("is the base64 of the MD5 bytes, quoted like the original", () => {
    const md5 = createHash("md5").update("hello").digest();
    expect(toO3Etag(`"${md5.toString("hex")}"`)).toBe(`"${md5.toString("base64")}"`);
    expect(toO3Etag(`"5d41402abc4b2a76b9719d911017c592"`)).toBe(`"XUFAKrxLKna5cZ2REBfFkg=="`);
  });

  it("round-trips single and multipart ETags, quoted, weak or XML-escaped", () => {
    fc.assert(
      fc.property(digest, fc.option(fc.integer({ min: 1, max: 10_000 })), fc.constantFrom('"', "&quot;", ""), fc.boolean(), (d, parts, q, weakWanted) => {
        // A weak ETag is always quoted (W/"…").
        const weak = weakWanted && q !== "";
        const hex = `${weak ? "W/" : ""}${q}${d.toString("hex")}${parts ? `-${parts}` : ""}${q}`;
        const o3 = toO3Etag(hex);
        expect(o3).toBe(`${weak ? "W/" : ""}${q}${d.toString("base64")}${parts ? `-${parts}` : ""}${q}`);
        expect(o3).not.toMatch(/[0-9a-f]{32}/);
        expect(fromO3Etag(o3)).toBe(hex);
      }),
    );
  });

  it("leaves values that are not MD5 digests alone", () => {
    for (const v of ['"abc"', '"' + "a".repeat(33) + '"', "", '"not-an-etag"']) {
      expect(toO3Etag(v)).toBe(v);
      expect(fromO3Etag(v)).toBe(v);
    }
  });

  it("rewrites every ETag element of a listing and restores them", () => {
    fc.assert(
      fc.property(fc.array(digest, { minLength: 1, maxLength: 20 }), (ds) => {
        const xml = `<ListBucketResult>${ds.map((d, i) => `<Contents><Key>k${i}</Key><ETag>&quot;${d.toString("hex")}&quot;</ETag></Contents>`).join("")}</ListBucketResult>`;
        const o3 = rewriteXmlEtags(xml);
        for (const d of ds) expect(o3).toContain(`<ETag>&quot;${d.toString("base64")}&quot;</ETag>`);
        expect(restoreXmlEtags(o3)).toBe(xml);
      }),
    );
  });
});
