import { describe, expect, it } from "vitest";
import { cidOf } from "@o3ml/integrity";
import type { BlobStore } from "@o3ml/o3-client";
import { fetchVerified, readChunks, type ChunkSpan } from "./blob-reader.js";
import { blobKey } from "./layout.js";

/** Answers blob GETs from a list, one answer per call: what a store returns read after read. */
function answering(...answers: Uint8Array[]): BlobStore & { reads: number } {
  const store = { reads: 0, get: async () => answers[Math.min(store.reads++, answers.length - 1)]! };
  return store as unknown as BlobStore & { reads: number };
}

describe("fetchVerified", () => {
  const good = new Uint8Array(4096).fill(7);
  const flipped = Uint8Array.from(good, (b, i) => (i === 100 ? b ^ 1 : b));
  const cid = cidOf(good);

  it("returns verified bytes after one read", async () => {
    const store = answering(good);
    expect(await fetchVerified(store, { cid }, "k")).toEqual(good);
    expect(store.reads).toBe(1);
  });

  it("reads once more when the bytes were damaged on the way, and returns the good ones", async () => {
    const store = answering(flipped, good);
    expect(await fetchVerified(store, { cid }, "k")).toEqual(good);
    expect(store.reads).toBe(2);
  });

  it("fails with INTEGRITY, naming the key and CID, when the stored bytes are damaged", async () => {
    const store = answering(flipped);
    await expect(fetchVerified(store, { cid }, "models/a.bin")).rejects.toMatchObject({
      code: "INTEGRITY",
      message: expect.stringMatching(new RegExp(`${cid}.*models/a\\.bin|models/a\\.bin.*${cid}`)),
    });
    expect(store.reads).toBe(2);
  });
});

/** Blobs by CID, counting the reads of each: what a store holds and how often a reader asked. */
function holding(blobs: Uint8Array[]): BlobStore & { reads: Map<string, number> } {
  const byKey = new Map(blobs.map((b) => [blobKey(cidOf(b)), b]));
  const reads = new Map<string, number>();
  const get = async (key: string) => {
    reads.set(key, (reads.get(key) ?? 0) + 1);
    return byKey.get(key)!;
  };
  return { reads, get } as unknown as BlobStore & { reads: Map<string, number> };
}

describe("readChunks", () => {
  const pack = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  const large = [new Uint8Array(3000).fill(1), new Uint8Array(3000).fill(2), new Uint8Array(3000).fill(3)];
  const span = (b: Uint8Array, from = 0, to = b.byteLength): ChunkSpan => ({ cid: cidOf(b), size: b.byteLength, from, to });

  it("fetches a blob that several spans name once, and gives each span its own bytes", async () => {
    const store = holding([pack, ...large]);
    // A checkpoint's packed entries between large ones: the pack is named again and again.
    const spans = [span(pack, 0, 10), span(large[0]!), span(pack, 10, 400), span(large[1]!), span(pack, 400, 1000), span(large[2]!)];
    const got: Uint8Array[] = [];
    for await (const bytes of readChunks(store, spans, 2, { key: "k" })) got.push(Uint8Array.from(bytes));
    expect(got).toEqual(spans.map((s) => [pack, ...large].find((b) => cidOf(b) === s.cid)!.subarray(s.from, s.to)));
    expect(store.reads.get(blobKey(cidOf(pack)))).toBe(1);
    for (const b of large) expect(store.reads.get(blobKey(cidOf(b)))).toBe(1);
  });

  it("fetches a blob again when the spans between hold more than it keeps (32 MiB)", async () => {
    const big = Array.from({ length: 5 }, (_, i) => new Uint8Array(8 * 1024 * 1024).fill(i + 10));
    const store = holding(big);
    // Every blob named twice, the second time after all the others: holding them all would be 40 MiB.
    const spans = [...big, ...big].map((b) => span(b, 0, 16));
    let n = 0;
    for await (const bytes of readChunks(store, spans, 2, { key: "k" })) expect(bytes[0]).toBe(big[n++ % 5]![0]);
    expect(n).toBe(10);
    const reads = big.map((b) => store.reads.get(blobKey(cidOf(b))));
    expect(reads.filter((r) => r === 1).length).toBe(4); // 32 MiB held: four blobs
    expect(reads.filter((r) => r === 2).length).toBe(1);
  });
});
