import { describe, expect, it } from "vitest";
import { ChunkBuffers, chunkBufferCount } from "./chunk-buffers.js";

const MiB = 1024 * 1024;

describe("ChunkBuffers", () => {
  it("hands out at most `count` buffers and wakes the waiting taker in order when one comes back", async () => {
    const pool = new ChunkBuffers(2);
    const a = await pool.take(16);
    const b = await pool.take(16);
    const order: string[] = [];
    const third = pool.take(16).then((buf) => (order.push("third"), buf));
    const fourth = pool.take(16).then((buf) => (order.push("fourth"), buf));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual([]);
    expect(pool.inUse).toBe(2);
    pool.give(a);
    const c = await third;
    expect(order).toEqual(["third"]);
    expect(c).toBe(a); // the same memory again, not a new allocation
    pool.give(b);
    expect(await fourth).toBe(b);
    pool.give(c);
    pool.give(b);
    expect(pool.inUse).toBe(0);
  });

  it("keeps the memory a buffer became after a transfer to a thread and back", async () => {
    const pool = new ChunkBuffers(1);
    const sent = await pool.take(64);
    new Uint8Array(sent).fill(7);
    const back = structuredClone(sent, { transfer: [sent] });
    expect(sent.byteLength).toBe(0); // detached, as after Piscina's transfer
    pool.give(back);
    const again = await pool.take(64);
    expect(again).toBe(back);
    expect(new Uint8Array(again)[0]).toBe(7);
  });

  it("counts a buffer that never came back (a failed transfer) as returned, and makes a new one", async () => {
    const pool = new ChunkBuffers(1);
    const sent = await pool.take(32);
    structuredClone(sent, { transfer: [sent] }); // lost with the thread
    pool.give(sent);
    const next = await pool.take(32);
    expect(next.byteLength).toBe(32);
    expect(pool.inUse).toBe(1);
  });

  it("replaces a free buffer too small for what is asked", async () => {
    const pool = new ChunkBuffers(1);
    pool.give(await pool.take(8));
    const big = await pool.take(1024);
    expect(big.byteLength).toBe(1024);
  });

  it("refuses a buffer given back that was never taken, and a count below one", () => {
    expect(() => new ChunkBuffers(2).give(new ArrayBuffer(1))).toThrow(/never taken/);
    expect(() => new ChunkBuffers(0)).toThrow(/at least 1/);
  });

  it("sizes the pool by bytes, not by --concurrency: 96 MiB of chunks, two at least", () => {
    expect(chunkBufferCount(8 * MiB)).toBe(12);
    expect(chunkBufferCount(1 * MiB)).toBe(96);
    expect(chunkBufferCount(64 * MiB)).toBe(2);
  });
});
