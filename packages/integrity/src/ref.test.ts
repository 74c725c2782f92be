import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isO3mlError, type O3mlError } from "@o3ml/errors";
import { o3ml } from "@o3ml/proto";
import { cidOf } from "./cid.js";
import { REF_FORMAT, decodeRef, encodeRef, type RefInput } from "./ref.js";

function thrown(fn: () => unknown): O3mlError {
  try {
    fn();
  } catch (err) {
    if (isO3mlError(err)) return err;
    throw new Error(`expected an O3mlError, got ${String(err)}`);
  }
  throw new Error("expected an error, none was thrown");
}

const manifest = cidOf(new TextEncoder().encode("a manifest"));
const live: RefInput = {
  kind: "ckpt",
  name: "run-17",
  manifestCid: manifest,
  createdUnixMs: 1_700_000_000_000,
  size: 4096,
};
const key = "o3ml/v1/refs/ckpt/run-17/01HZX";

describe("refs", () => {
  it("round-trip through encode and decode, live or deleted", () => {
    const refs = fc.record({
      kind: fc.string({ minLength: 1 }),
      name: fc.string({ minLength: 1 }),
      deleted: fc.boolean(),
      createdUnixMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      size: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    });
    fc.assert(
      fc.property(refs, (r) => {
        const input = { ...r, manifestCid: r.deleted ? undefined : manifest };
        expect(decodeRef(encodeRef(input), key)).toEqual({
          formatVersion: REF_FORMAT,
          ...r,
          manifestCid: r.deleted ? "" : manifest,
        });
      }),
    );
  });

  it("keep a stable encoding, whatever order the fields were given in", () => {
    const reordered: RefInput = {
      size: 4096,
      createdUnixMs: 1_700_000_000_000,
      manifestCid: manifest,
      name: "run-17",
      kind: "ckpt",
    };
    expect(encodeRef(reordered)).toEqual(encodeRef(live));
    expect(cidOf(encodeRef(live))).toBe("bafkreiborj7xpw4hsy7zb3mujxhwoudfozxplk2kea2b2ksfzylajlo4ei");
  });

  it("refuse a ref written in a newer format, naming where it was read", () => {
    const bytes = o3ml.v1.Ref.encode({ ...live, formatVersion: REF_FORMAT + 1 }).finish();
    const err = thrown(() => decodeRef(bytes, key));
    expect(err.code).toBe("FAILED_PRECONDITION");
    expect(err.message).toContain(`ref at ${key}`);
    expect(err.message).toContain("written by a newer o3ml");
  });

  it.each([
    ["garbage", Uint8Array.from([0x0a, 0x7f])],
    ["no format_version", o3ml.v1.Ref.encode({ ...live, formatVersion: 0 }).finish()],
    ["no name", o3ml.v1.Ref.encode({ ...live, formatVersion: 1, name: "" }).finish()],
    ["no manifest and no deletion", o3ml.v1.Ref.encode({ ...live, formatVersion: 1, manifestCid: "" }).finish()],
    ["an invalid manifest CID", o3ml.v1.Ref.encode({ ...live, formatVersion: 1, manifestCid: "Qm123" }).finish()],
    ["a deletion naming a manifest", o3ml.v1.Ref.encode({ ...live, formatVersion: 1, deleted: true }).finish()],
    ["a negative time", o3ml.v1.Ref.encode({ ...live, formatVersion: 1, createdUnixMs: -5 }).finish()],
  ])("refuse a stored ref with %s as INTEGRITY", (_, bytes) => {
    const err = thrown(() => decodeRef(bytes, key));
    expect(err.code).toBe("INTEGRITY");
    expect(err.message).toContain(`ref at ${key} is malformed`);
    expect(err.details).toMatchObject({ key });
  });

  it.each([
    ["no kind", { ...live, kind: "" }],
    ["no manifest", { ...live, manifestCid: undefined }],
    ["a bad manifest CID", { ...live, manifestCid: "bafy-not" }],
    ["a deletion naming a manifest", { ...live, deleted: true }],
    ["a negative time", { ...live, createdUnixMs: -1 }],
    ["an unsafe size", { ...live, size: 2 ** 60 }],
  ])("refuse to encode a ref with %s", (_, r) => {
    expect(thrown(() => encodeRef(r)).code).toBe("INVALID_ARGUMENT");
  });
});
