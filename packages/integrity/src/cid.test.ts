import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isO3mlError, type O3mlError } from "@o3ml/errors";
import { CID } from "multiformats/cid";
import { base58btc } from "multiformats/bases/base58";
import { base36 } from "multiformats/bases/base36";
import { create as createDigest } from "multiformats/hashes/digest";
import { sha256 as mfSha256 } from "multiformats/hashes/sha2";
import { cidOf, cidOfDigest, digestOfCid, isCid, parseCid, verifyBlob } from "./cid.js";
import { sha256 } from "./sha256.js";

function thrown(fn: () => unknown): O3mlError {
  try {
    fn();
  } catch (err) {
    if (isO3mlError(err)) return err;
    throw new Error(`expected an O3mlError, got ${String(err)}`);
  }
  throw new Error("expected an error, none was thrown");
}

describe("cidOf", () => {
  it("names the empty blob by the well-known raw CID", () => {
    expect(cidOf(new Uint8Array(0))).toBe("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  });

  it("agrees with multiformats' own sha2-256 and parses back", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096, size: "max" }), async (bytes) => {
        const expected = CID.createV1(0x55, await mfSha256.digest(bytes)).toString();
        expect(cidOf(bytes)).toBe(expected);
        expect(cidOf(bytes).startsWith("bafkrei")).toBe(true);
        expect(parseCid(cidOf(bytes)).toString()).toBe(expected);
      }),
    );
  });

  it("names a digest computed elsewhere as it names the bytes, and refuses a digest of another length", () => {
    for (const n of [0, 1, 1000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
      expect(cidOfDigest(sha256(bytes))).toBe(cidOf(bytes));
    }
    expect(thrown(() => cidOfDigest(new Uint8Array(31))).code).toBe("INTERNAL");
  });

  it("hashes only a Buffer slice, not the pool behind it", () => {
    const whole = Buffer.from("0123456789abcdefghij");
    const slice = whole.subarray(5, 9);
    expect(cidOf(slice)).toBe(cidOf(Uint8Array.from([0x35, 0x36, 0x37, 0x38])));
    expect(() => verifyBlob(cidOf(slice), slice)).not.toThrow();
  });
});

describe("parseCid", () => {
  const valid = cidOf(new TextEncoder().encode("o3ml"));
  const digest = parseCid(valid).multihash;
  const refused: [string, string][] = [
    ["empty", ""],
    ["garbage", "hello"],
    ["CIDv0", "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"],
    ["dag-pb codec", CID.createV1(0x70, digest).toString()],
    ["dag-cbor codec", CID.createV1(0x71, digest).toString()],
    ["sha2-512 hash", CID.createV1(0x55, createDigest(0x13, new Uint8Array(64))).toString()],
    ["identity hash", CID.createV1(0x55, createDigest(0x00, new Uint8Array(32))).toString()],
    ["base58btc spelling", CID.parse(valid).toString(base58btc)],
    ["base36 spelling", CID.parse(valid).toString(base36)],
    ["upper case", valid.toUpperCase()],
    ["trailing space", `${valid} `],
    ["truncated", valid.slice(0, -3)],
  ];

  it.each(refused)("refuses a %s string as INVALID_ARGUMENT", (_, s) => {
    const err = thrown(() => parseCid(s));
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toContain("not an o3ml CID");
    expect(err.message).toContain("raw codec, sha2-256");
    expect(isCid(s)).toBe(false);
  });

  it("says which part is wrong", () => {
    expect(thrown(() => parseCid(refused[3]![1])).message).toContain("codec is 0x70");
    expect(thrown(() => parseCid(refused[5]![1])).message).toContain("multihash 0x13");
    expect(thrown(() => parseCid(refused[7]![1])).message).toContain(`expected ${valid}`);
  });

  it("refuses a non-string", () => {
    expect(thrown(() => parseCid(42 as unknown as string)).code).toBe("INVALID_ARGUMENT");
  });
});

describe("verifyBlob", () => {
  it("accepts the bytes a CID names", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048, size: "max" }), (bytes) => {
        expect(() => verifyBlob(cidOf(bytes), bytes)).not.toThrow();
      }),
    );
  });

  it("detects any single flipped bit", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2048, size: "max" }), fc.nat(), (bytes, bit) => {
        const cid = cidOf(bytes);
        const altered = Uint8Array.from(bytes);
        const at = bit % (bytes.length * 8);
        altered[at >> 3] = altered[at >> 3]! ^ (1 << (at & 7));
        const err = thrown(() => verifyBlob(cid, altered, { key: `o3ml/v1/blobs/${cid}` }));
        expect(err.code).toBe("INTEGRITY");
        expect(err.details).toMatchObject({ cid, key: `o3ml/v1/blobs/${cid}` });
      }),
    );
  });

  it("detects truncation", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2048, size: "max" }), fc.nat(), (bytes, cut) => {
        const err = thrown(() => verifyBlob(cidOf(bytes), bytes.subarray(0, cut % bytes.length)));
        expect(err.code).toBe("INTEGRITY");
      }),
    );
  });

  it("explains the mismatch and what to do", () => {
    const good = new TextEncoder().encode("checkpoint bytes");
    const cid = cidOf(good);
    const context = { what: "chunk 3 of model.ckpt", key: "o3ml/v1/blobs/x" };
    const err = thrown(() => verifyBlob(cid, good.subarray(1), context));
    expect(err.message).toContain(`chunk 3 of model.ckpt ${cid} at o3ml/v1/blobs/x failed verification`);
    expect(err.message).toContain(Buffer.from(parseCid(cid).multihash.digest).toString("hex"));
    expect(err.message).toContain("over 15 bytes");
    expect(err.message).toContain("o3ml verify");
  });

  it("reports an invalid CID as INVALID_ARGUMENT, not INTEGRITY", () => {
    expect(thrown(() => verifyBlob("not-a-cid", new Uint8Array(1))).code).toBe("INVALID_ARGUMENT");
  });
});

describe("digestOfCid", () => {
  it("gives back the sha2-256 a CID was made from, and refuses what is not an o3ml CID", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        const cid = cidOf(bytes);
        expect(Buffer.from(digestOfCid(cid)).equals(Buffer.from(sha256(bytes)))).toBe(true);
        expect(cidOfDigest(digestOfCid(cid))).toBe(cid);
      }),
    );
    expect(() => digestOfCid("not-a-cid")).toThrow(/not-a-cid/);
  });
});
