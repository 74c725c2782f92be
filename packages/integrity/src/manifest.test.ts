import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isO3mlError, type O3mlError } from "@o3ml/errors";
import { o3ml } from "@o3ml/proto";
import { cidOf } from "./cid.js";
import {
  OBJECT_MANIFEST_FORMAT,
  decodeObjectManifest,
  encodeObjectManifest,
  manifestCid,
  type ObjectManifestInput,
} from "./manifest.js";
import { sha256, toHex } from "./sha256.js";

function thrown(fn: () => unknown): O3mlError {
  try {
    fn();
  } catch (err) {
    if (isO3mlError(err)) return err;
    throw new Error(`expected an O3mlError, got ${String(err)}`);
  }
  throw new Error("expected an error, none was thrown");
}

/** A manifest describing real bytes, as a writer would build it. */
function manifestOf(chunks: Uint8Array[], extra: Partial<ObjectManifestInput> = {}): ObjectManifestInput {
  return {
    size: chunks.reduce((n, c) => n + c.length, 0),
    chunks: chunks.map((c) => ({ cid: cidOf(c), size: c.length })),
    sha256: sha256(Buffer.concat(chunks)),
    ...extra,
  };
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const sample = manifestOf([text("first chunk"), text("second")], {
  contentType: "application/x-safetensors",
  labels: { run: "r-17", step: "1200" },
});
// The same manifest as the generated encoder types it: the sample has no checkpoint table, the
// one field whose TypeScript type differs between the two.
const wireSample = sample as unknown as o3ml.v1.IObjectManifest;

const manifests = fc
  .record({
    chunks: fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 12 }),
    contentType: fc.option(fc.string(), { nil: undefined }),
    labels: fc.option(fc.dictionary(fc.string(), fc.string()), { nil: undefined }),
  })
  .map(({ chunks, contentType, labels }) => manifestOf(chunks, { contentType, labels }));

describe("object manifests", () => {
  it("round-trip through encode and decode", () => {
    fc.assert(
      fc.property(manifests, (m) => {
        const bytes = encodeObjectManifest(m);
        const back = decodeObjectManifest(bytes, manifestCid(bytes));
        expect(back).toEqual({
          // Format 2 is only for checkpoints with packed entries (checkpoint-table.test.ts).
          formatVersion: 1,
          size: m.size,
          chunks: m.chunks,
          contentType: m.contentType ?? "",
          sha256: Uint8Array.from(m.sha256),
          labels: { ...(m.labels ?? {}) },
        });
        expect(encodeObjectManifest(back)).toEqual(bytes);
      }),
    );
  });

  it("encode identically whatever the order labels were added in", () => {
    fc.assert(
      fc.property(manifests, fc.dictionary(fc.string(), fc.string(), { minKeys: 2 }), (m, labels) => {
        const reversed = Object.fromEntries(Object.entries(labels).reverse());
        expect(manifestCid(encodeObjectManifest({ ...m, labels: reversed }))).toBe(
          manifestCid(encodeObjectManifest({ ...m, labels })),
        );
      }),
    );
  });

  it("write labels sorted by the UTF-8 bytes of their keys, as protobuf does elsewhere", () => {
    // Object.keys would put "9" before "10"; UTF-16 order would put the emoji before U+FFFD.
    const labels = { "\u{1F600}": "1", b: "2", "9": "3", "\uFFFD": "4", a: "5", "10": "6" };
    const bytes = Buffer.from(encodeObjectManifest({ ...sample, labels }));
    const at = (key: string): number => {
      const k = Buffer.from(key);
      return bytes.indexOf(Buffer.from([0x0a, k.length, ...k]));
    };
    const positions = ["10", "9", "a", "b", "\uFFFD", "\u{1F600}"].map(at);
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
  });

  it("keep a stable encoding (the CID of a manifest must not drift between versions)", () => {
    const cid = manifestCid(encodeObjectManifest(sample));
    expect(cid).toBe("bafkreidjdwgbwsyywycexu4batrx5rrhfot3foilpu3hf7jb6ixato7a7e");
  });

  it("refuse a manifest written in a newer format", () => {
    const newer = o3ml.v1.ObjectManifest.encode({ ...wireSample, formatVersion: OBJECT_MANIFEST_FORMAT + 1 }).finish();
    for (const expected of [undefined, manifestCid(newer)]) {
      const err = thrown(() => decodeObjectManifest(newer, expected));
      expect(err.code).toBe("FAILED_PRECONDITION");
      expect(err.message).toContain("written by a newer o3ml");
      expect(err.message).toContain("upgrade");
      expect(err.message).toContain(manifestCid(newer));
    }
  });

  it("detect any altered byte when the CID is known", () => {
    const bytes = encodeObjectManifest(sample);
    const cid = manifestCid(bytes);
    fc.assert(
      fc.property(fc.nat(bytes.length * 8 - 1), (bit) => {
        const altered = Uint8Array.from(bytes);
        altered[bit >> 3] = altered[bit >> 3]! ^ (1 << (bit & 7));
        const err = thrown(() => decodeObjectManifest(altered, cid));
        expect(err.code).toBe("INTEGRITY");
        expect(err.message).toContain(`manifest ${cid}`);
      }),
    );
  });

  it.each([
    ["garbage", Uint8Array.from([0xff, 0xff, 0xff, 0xff]), "does not decode"],
    ["no format_version", o3ml.v1.ObjectManifest.encode({ ...wireSample, formatVersion: 0 }).finish(), "no format_version"],
    ["wrong size", o3ml.v1.ObjectManifest.encode({ ...wireSample, formatVersion: 1, size: 5 }).finish(), "add up to 17"],
    [
      "a bad chunk CID",
      o3ml.v1.ObjectManifest.encode({ ...wireSample, formatVersion: 1, chunks: [{ cid: "Qm", size: 17 }] }).finish(),
      "invalid CID",
    ],
    [
      "a short sha256",
      o3ml.v1.ObjectManifest.encode({ ...wireSample, formatVersion: 1, sha256: new Uint8Array(4) }).finish(),
      "sha256",
    ],
  ])("refuse a stored manifest with %s as INTEGRITY, naming it", (_, bytes, reason) => {
    const err = thrown(() => decodeObjectManifest(bytes, manifestCid(bytes)));
    expect(err.code).toBe("INTEGRITY");
    expect(err.message).toContain(`manifest ${manifestCid(bytes)} is malformed`);
    expect(err.message).toContain(reason);
    expect(err.details).toMatchObject({ cid: manifestCid(bytes) });
  });

  it.each([
    ["sizes that do not add up", { ...sample, size: sample.size + 1 }],
    ["a bad chunk CID", { ...sample, chunks: [{ cid: "bafy", size: sample.size }] }],
    ["an empty chunk", { ...sample, chunks: [...sample.chunks, { cid: cidOf(new Uint8Array()), size: 0 }] }],
    ["a short sha256", { ...sample, sha256: new Uint8Array(31) }],
    ["a fractional size", { ...sample, size: 1.5 }],
    ["a non-string label", { ...sample, labels: { step: 3 as unknown as string } }],
  ])("refuse to encode %s", (_, m) => {
    expect(thrown(() => encodeObjectManifest(m)).code).toBe("INVALID_ARGUMENT");
  });

  it("name a manifest by the CID of its bytes", () => {
    const bytes = encodeObjectManifest(sample);
    expect(manifestCid(bytes)).toBe(cidOf(bytes));
    expect(toHex(decodeObjectManifest(bytes).sha256)).toBe(toHex(sample.sha256));
  });
});
