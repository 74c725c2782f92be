import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createCipheriv, createHash } from "node:crypto";
import { isO3mlError } from "@o3ml/errors";
import { cdcChunker, type CdcOptions } from "./cdc-chunker.js";
import { fixedChunker } from "./fixed-chunker.js";
import { GEAR } from "./gear-table.js";
import { cidOf } from "./cid.js";
import type { Chunker } from "./chunker.js";

// Shrinking a failing multi-kilobyte input can take minutes; stop after a
// while and report the smallest counterexample found so far.
fc.configureGlobal({ ...fc.readConfigureGlobal(), interruptAfterTimeLimit: 30_000 });

/** Deterministic pseudo-random bytes: AES-256-CTR keystream keyed by sha2-256(seed). */
function bytesFrom(seed: string, length: number): Uint8Array {
  const key = createHash("sha256").update(seed).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  return Uint8Array.from(cipher.update(Buffer.alloc(length)));
}

function chunkAll(chunker: Chunker, data: Uint8Array): Uint8Array[] {
  return [...chunker.push(data), ...chunker.finish()];
}

const SMALL: CdcOptions = { minSize: 1024, avgSize: 4096, maxSize: 16384 };

describe("cdcChunker", () => {
  it("keeps every chunk within [minSize, maxSize], the last within [1, maxSize]", () => {
    const options = fc
      .tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 600 }))
      .map(([minSize, a, b]) => ({ minSize, avgSize: minSize + a, maxSize: minSize + a + b }));
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 6000, size: "max" }),
      fc.uint8Array({ max: 0, maxLength: 6000, size: "max" }),
    );
    fc.assert(
      fc.property(options, data, (o, bytes) => {
        const chunks = chunkAll(cdcChunker(o), bytes);
        chunks.forEach((c, i) => {
          expect(c.length).toBeLessThanOrEqual(o.maxSize);
          expect(c.length).toBeGreaterThanOrEqual(i < chunks.length - 1 ? o.minSize : 1);
        });
      }),
    );
  });

  it("cuts constant input into equal chunks, since its hash stops varying", () => {
    const chunks = chunkAll(cdcChunker(SMALL), new Uint8Array(100_000));
    expect(chunks.length).toBeGreaterThan(2);
    expect(new Set(chunks.slice(0, -1).map((c) => c.length)).size).toBe(1);
  });

  it("averages close to avgSize on random data, rarely hitting maxSize", () => {
    const chunks = chunkAll(cdcChunker(SMALL), bytesFrom("average", 8 << 20));
    const sizes = chunks.slice(0, -1).map((c) => c.length);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    expect(mean).toBeGreaterThan(0.8 * SMALL.avgSize);
    expect(mean).toBeLessThan(1.4 * SMALL.avgSize);
    expect(sizes.filter((s) => s === SMALL.maxSize).length).toBeLessThan(sizes.length / 100);
  });

  it("keeps boundaries local: an edit near the start leaves most later chunks unchanged", () => {
    const original = bytesFrom("locality", 1 << 20);
    const before = (c: () => Chunker): string[] => chunkAll(c(), original).map(cidOf);
    const cdcBefore = before(() => cdcChunker(SMALL));
    const fixedBefore = before(() => fixedChunker(SMALL.avgSize));
    const edits = fc.record({
      at: fc.nat(64 * 1024),
      remove: fc.nat(300),
      insert: fc.uint8Array({ maxLength: 300, size: "max" }),
    });
    fc.assert(
      fc.property(edits, ({ at, remove, insert }) => {
        fc.pre(remove % SMALL.avgSize !== insert.length % SMALL.avgSize);
        const edited = Buffer.concat([original.subarray(0, at), insert, original.subarray(at + remove)]);
        const kept = (after: string[], was: string[]): number => {
          const now = new Set(after);
          return was.filter((cid) => now.has(cid)).length / was.length;
        };
        // The edit lies in the first 64 KiB of 1 MiB: CDC must keep most of the rest...
        expect(kept(chunkAll(cdcChunker(SMALL), edited).map(cidOf), cdcBefore)).toBeGreaterThan(0.85);
        // ...which fixed-size chunking cannot, so the assertion above is not vacuous.
        expect(kept(chunkAll(fixedChunker(SMALL.avgSize), edited).map(cidOf), fixedBefore)).toBeLessThan(0.1);
      }),
      { numRuns: 40 },
    );
  });

  it("keeps its gear table and boundaries stable (they are part of the dedup contract)", () => {
    expect(GEAR.length).toBe(256);
    expect(new Set(GEAR).size).toBe(256);
    expect(cidOf(new Uint8Array(GEAR.buffer))).toBe("bafkreicfvz42q5v6tmi36lsp4hp5kloqbykoqivxc3dhmfxl534r47t7fq");
    const chunks = chunkAll(cdcChunker(SMALL), bytesFrom("golden", 256 * 1024));
    expect(chunks.slice(0, 8).map((c) => c.length)).toEqual([4801, 4309, 3355, 4108, 5172, 5835, 7004, 5023]);
    expect(chunks.length).toBe(55);
    const listing = new TextEncoder().encode(chunks.map(cidOf).join("\n"));
    expect(cidOf(listing)).toBe("bafkreidgnx4soztyv5lvhdwdft7qvdiunj2wk6yrl2ccmynjh7qdxounuq");
  });

  it.each([
    [{ minSize: 0, avgSize: 8, maxSize: 16 }, "minSize"],
    [{ minSize: 4, avgSize: 2.5, maxSize: 16 }, "avgSize"],
    [{ minSize: 4, avgSize: 8, maxSize: 2 ** 31 }, "maxSize"],
    [{ minSize: 8, avgSize: 4, maxSize: 16 }, "minSize <= avgSize <= maxSize"],
    [{ minSize: 4, avgSize: 32, maxSize: 16 }, "minSize <= avgSize <= maxSize"],
  ])("refuses %j", (options, mentioned) => {
    let caught: unknown;
    try {
      cdcChunker(options);
    } catch (err) {
      caught = err;
    }
    expect(isO3mlError(caught, "INVALID_ARGUMENT")).toBe(true);
    expect((caught as Error).message).toContain(mentioned);
  });

  it("accepts minSize = avgSize = maxSize, cutting fixed-size chunks", () => {
    const chunks = chunkAll(cdcChunker({ minSize: 100, avgSize: 100, maxSize: 100 }), bytesFrom("equal", 1050));
    expect(chunks.map((c) => c.length)).toEqual([...Array(10).fill(100), 50]);
  });
});
