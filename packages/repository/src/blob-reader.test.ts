import { describe, expect, it } from "vitest";
import { cidOf } from "@o3ml/integrity";
import type { BlobStore } from "@o3ml/o3-client";
import { fetchVerified } from "./blob-reader.js";

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
