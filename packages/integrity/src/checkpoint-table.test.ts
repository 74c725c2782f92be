import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isO3mlError } from "@o3ml/errors";
import { o3ml } from "@o3ml/proto";
import type { CheckpointEntry, CheckpointTable } from "./checkpoint-table.js";
import { cidOf } from "./cid.js";
import { entryRanges } from "./checkpoint-table.js";
import { decodeObjectManifest, encodeObjectManifest, manifestCid, OBJECT_MANIFEST_FORMAT, type ChunkEntry, type ObjectManifestInput } from "./manifest.js";
import { sha256 } from "./sha256.js";

const cids = new Map<number, string>();
const cidFor = (i: number) => cids.get(i) ?? cids.set(i, cidOf(new TextEncoder().encode(`chunk ${i}`))).get(i)!;
const SHA = sha256(new Uint8Array(0));

/** A checkpoint manifest whose entries have the given sizes, each cut into chunks of at most `chunk` bytes. */
function checkpointManifest(sizes: number[], chunk: number, metrics: Record<string, number> = {}): ObjectManifestInput & { checkpoint: CheckpointTable } {
  const chunks: ChunkEntry[] = [];
  const entries: CheckpointEntry[] = sizes.map((nbytes, i) => {
    const firstChunk = chunks.length;
    for (let left = nbytes; left > 0; left -= chunk) chunks.push({ cid: cidFor(chunks.length), size: Math.min(chunk, left) });
    return { name: i === 0 ? "data.pkl" : String(i - 1), kind: i === 0 ? "skeleton" : "storage", dtype: i === 0 ? "" : "float32", nbytes, firstChunk, chunkCount: chunks.length - firstChunk };
  });
  const size = sizes.reduce((a, b) => a + b, 0);
  return {
    size,
    chunks,
    sha256: SHA,
    contentType: "application/vnd.o3ml.checkpoint",
    checkpoint: { key: "runs/r1/last.ckpt", run: "r1", step: 300, epoch: 3, metrics, datasetCid: cidFor(1000), parentCid: "", entries },
  };
}

function expectError(fn: () => unknown, code: string, text?: string) {
  try {
    fn();
  } catch (err) {
    expect(isO3mlError(err), String(err)).toBe(true);
    expect((err as { code: string }).code).toBe(code);
    if (text) expect((err as Error).message).toContain(text);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe("object manifests with and without a checkpoint table", () => {
  it("round-trip and stay byte-identical whatever the label order", () => {
    const m = { size: 3, chunks: [{ cid: cidFor(1), size: 3 }], sha256: SHA, labels: { b: "2", a: "1", "10": "x" } };
    const bytes = encodeObjectManifest(m);
    expect(encodeObjectManifest({ ...m, labels: { "10": "x", a: "1", b: "2" } })).toEqual(bytes);
    const back = decodeObjectManifest(bytes, manifestCid(bytes));
    expect(back).toMatchObject({ formatVersion: 1, size: 3, chunks: m.chunks, labels: { "10": "x", a: "1", b: "2" } });
    expect(back.checkpoint).toBeUndefined();
  });

  it("refuses a manifest of a newer format with FAILED_PRECONDITION", () => {
    const bytes = o3ml.v1.ObjectManifest.encode({ formatVersion: OBJECT_MANIFEST_FORMAT + 1, size: 0, sha256: SHA }).finish();
    expectError(() => decodeObjectManifest(bytes), "FAILED_PRECONDITION", `format_version ${OBJECT_MANIFEST_FORMAT + 1}`);
  });
});

describe("checkpoint tables in object manifests", () => {
  it("round-trip, zero-length entries included", () => {
    const m = checkpointManifest([100, 0, 25, 0, 7], 10, { val_loss: 0.25, acc: 0.9 });
    const bytes = encodeObjectManifest(m);
    const back = decodeObjectManifest(bytes, manifestCid(bytes));
    expect(back.checkpoint).toEqual(m.checkpoint);
    expect(back.chunks).toEqual(m.chunks);
    // Plain readers see the same object: the table adds fields, changes none.
    const plain = o3ml.v1.ObjectManifest.decode(bytes);
    expect(Number(plain.size)).toBe(132);
    expect(plain.checkpoint?.key).toBe("runs/r1/last.ckpt");
  });

  it("carry each entry's CRC-32 when the writer recorded it, and encode as before when it did not", () => {
    const m = checkpointManifest([100, 0, 25], 10);
    const without = encodeObjectManifest(m);
    m.checkpoint.entries[0]!.crc32 = 0xdeadbeef;
    m.checkpoint.entries[2]!.crc32 = 7;
    const withCrc = encodeObjectManifest(m);
    expect(decodeObjectManifest(withCrc).checkpoint!.entries.map((e) => e.crc32)).toEqual([0xdeadbeef, undefined, 7]);
    expect(decodeObjectManifest(without).checkpoint!.entries.every((e) => e.crc32 === undefined)).toBe(true);
    m.checkpoint.entries[2]!.crc32 = 2 ** 32;
    expectError(() => encodeObjectManifest(m), "INVALID_ARGUMENT", "crc32");
  });

  it("encode deterministically, metrics sorted by key whatever their insertion order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 4, max: 16 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.double()),
        (sizes, chunk, metrics) => {
          const m = checkpointManifest(sizes, chunk, metrics);
          const reversed = Object.fromEntries(Object.entries(metrics).reverse());
          const bytes = encodeObjectManifest(m);
          expect(encodeObjectManifest({ ...m, checkpoint: { ...m.checkpoint, metrics: reversed } })).toEqual(bytes);
          const back = decodeObjectManifest(bytes);
          expect(back.checkpoint!.entries).toEqual(m.checkpoint.entries);
          // (A JS object lists integer-like keys first whatever the wire order; the next test checks that order.)
          expect(Object.keys(back.checkpoint!.metrics).sort()).toEqual(Object.keys(metrics).sort());
          for (const [k, v] of Object.entries(metrics)) expect(Object.is(back.checkpoint!.metrics[k], v)).toBe(true);
        },
      ),
    );
  });

  it("writes the metrics map in key order on the wire", () => {
    const bytes = encodeObjectManifest(checkpointManifest([4], 4, { b: 2, "10": 1, a: 3, "2": 4 }));
    const text = Buffer.from(bytes).toString("latin1");
    const at = ["10", "2", "a", "b"].map((k) => text.indexOf(`\n${String.fromCharCode(k.length)}${k}\x11`));
    expect(at.every((p) => p > 0)).toBe(true);
    expect([...at].sort((x, y) => x - y)).toEqual(at);
  });

  const broken: [string, (t: CheckpointTable) => void, string][] = [
    ["a gap between entries", (t) => (t.entries[1]!.firstChunk += 1), "not at chunk"],
    ["overlapping entries", (t) => (t.entries[2]!.firstChunk -= 1), "not at chunk"],
    ["a wrong nbytes", (t) => (t.entries[1]!.nbytes += 1), "declares"],
    ["chunks left uncovered", (t) => t.entries.pop(), "cover"],
    ["a skeleton after a storage", (t) => (t.entries[1]!.kind = "skeleton"), "skeleton comes first"],
    ["a repeated storage name", (t) => (t.entries[2]!.name = t.entries[1]!.name), "repeats"],
    ["a nameless storage", (t) => (t.entries[1]!.name = ""), "without a name"],
    ["a bad parent CID", (t) => (t.parentCid = "not-a-cid"), "parent_cid"],
  ];

  it.each(broken)("refuses to encode a table with %s (INVALID_ARGUMENT)", (_what, breakIt, text) => {
    const m = checkpointManifest([30, 20, 10], 10);
    breakIt(m.checkpoint);
    expectError(() => encodeObjectManifest(m), "INVALID_ARGUMENT", text);
  });

  it.each(broken)("refuses to decode a stored table with %s (INTEGRITY)", (_what, breakIt, text) => {
    const m = checkpointManifest([30, 20, 10], 10);
    breakIt(m.checkpoint);
    const kinds = { skeleton: o3ml.v1.EntryKind.SKELETON, storage: o3ml.v1.EntryKind.STORAGE };
    const bytes = o3ml.v1.ObjectManifest.encode({
      formatVersion: 1,
      size: m.size,
      chunks: m.chunks,
      sha256: SHA,
      checkpoint: { ...m.checkpoint, entries: m.checkpoint.entries.map((e) => ({ ...e, kind: kinds[e.kind] })) },
    }).finish();
    expectError(() => decodeObjectManifest(bytes, manifestCid(bytes)), "INTEGRITY", text);
  });

  it("refuses an entry kind it does not know", () => {
    const bytes = o3ml.v1.ObjectManifest.encode({
      formatVersion: 1,
      size: 0,
      sha256: SHA,
      checkpoint: { entries: [{ name: "x", kind: 7 as o3ml.v1.EntryKind }] },
    }).finish();
    expectError(() => decodeObjectManifest(bytes), "INTEGRITY", "kind 7");
  });
});

/**
 * A checkpoint with packed entries: the skeleton (5 bytes) and entries 2 and 3 in pack A, the large
 * entry 1 in two chunks of its own, entry 4 in pack B, and entry 5 in an earlier save's pack C
 * (a reused entry: C holds bytes no entry here names). Chunks in order of first use: A, the two of
 * entry 1, B, C.
 */
function packedManifest(): ObjectManifestInput & { checkpoint: CheckpointTable } {
  const chunks: ChunkEntry[] = [
    { cid: cidFor(2000), size: 5 + 3 + 4 },
    { cid: cidFor(2001), size: 10 },
    { cid: cidFor(2002), size: 6 },
    { cid: cidFor(2003), size: 7 },
    { cid: cidFor(2004), size: 50 },
  ];
  const e = (name: string, nbytes: number, firstChunk: number, chunkCount: number, offset?: number): CheckpointEntry => ({
    name,
    kind: name === "data.pkl" ? "skeleton" : "storage",
    dtype: name === "data.pkl" ? "" : "float32",
    nbytes,
    firstChunk,
    chunkCount,
    ...(offset !== undefined ? { packed: true, offset } : {}),
  });
  const entries = [e("data.pkl", 5, 0, 1, 0), e("0", 16, 1, 2), e("1", 3, 0, 1, 5), e("2", 4, 0, 1, 8), e("3", 7, 3, 1, 0), e("4", 20, 4, 1, 30)];
  return {
    size: chunks.reduce((n, c) => n + c.size, 0),
    chunks,
    sha256: new Uint8Array(0),
    checkpoint: { key: "runs/r1/packed.ckpt", run: "r1", step: 1, epoch: 0, metrics: {}, datasetCid: "", parentCid: "", entries },
  };
}

describe("checkpoint tables with packed entries", () => {
  it("round-trip as manifest format 2, every entry's pack and offset kept", () => {
    const m = packedManifest();
    const bytes = encodeObjectManifest(m);
    const back = decodeObjectManifest(bytes, manifestCid(bytes));
    expect(back.formatVersion).toBe(2);
    expect(back.checkpoint!.entries.map((e) => [e.name, e.firstChunk, e.chunkCount, e.packed ?? false, e.offset ?? 0])).toEqual([
      ["data.pkl", 0, 1, true, 0],
      ["0", 1, 2, false, 0],
      ["1", 0, 1, true, 5],
      ["2", 0, 1, true, 8],
      ["3", 3, 1, true, 0],
      ["4", 4, 1, true, 30],
    ]);
    expect(encodeObjectManifest(back)).toEqual(bytes);
  });

  it("give each entry's bytes as ranges of the chunks, packed or not", () => {
    const m = packedManifest();
    const [skeleton, large, , packed2, , reused] = m.checkpoint.entries;
    expect(entryRanges(skeleton!, m.chunks)).toEqual([{ chunk: 0, from: 0, to: 5 }]);
    expect(entryRanges(packed2!, m.chunks, 1, 3)).toEqual([{ chunk: 0, from: 9, to: 11 }]);
    expect(entryRanges(reused!, m.chunks)).toEqual([{ chunk: 4, from: 30, to: 50 }]);
    expect(entryRanges(large!, m.chunks, 4, 13)).toEqual([
      { chunk: 1, from: 4, to: 10 },
      { chunk: 2, from: 0, to: 3 },
    ]);
  });

  const broken: [string, (t: CheckpointTable) => void, string][] = [
    ["a range past the end of its pack", (t) => (t.entries[3]!.offset = 9), "of its pack, which holds 12"],
    ["a pack of two chunks", (t) => (t.entries[4]!.chunkCount = 2), "not its one pack"],
    ["a pack first named out of order", (t) => (t.entries[4]!.firstChunk = 4), "neither the next chunk"],
    ["a packed entry in a chunk an unpacked entry owns", (t) => (t.entries[2]!.firstChunk = 1), "neither the next chunk"],
    ["an offset on an entry that is not packed", (t) => (t.entries[1]!.offset = 2), "not packed"],
  ];

  it.each(broken)("refuse to encode a table with %s (INVALID_ARGUMENT)", (_what, breakIt, text) => {
    const m = packedManifest();
    breakIt(m.checkpoint);
    expectError(() => encodeObjectManifest(m), "INVALID_ARGUMENT", text);
  });

  it("are refused in a manifest that says format 1: a reader of format 1 would read the wrong bytes", () => {
    const m = packedManifest();
    const kinds = { skeleton: o3ml.v1.EntryKind.SKELETON, storage: o3ml.v1.EntryKind.STORAGE };
    const bytes = o3ml.v1.ObjectManifest.encode({
      formatVersion: 1,
      size: m.size,
      chunks: m.chunks,
      sha256: new Uint8Array(0),
      checkpoint: { ...m.checkpoint, entries: m.checkpoint.entries.map((e) => ({ ...e, kind: kinds[e.kind] })) },
    }).finish();
    expectError(() => decodeObjectManifest(bytes, manifestCid(bytes)), "INTEGRITY", "packed entries but its format is 1");
  });
});
