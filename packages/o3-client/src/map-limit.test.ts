import { describe, expect, it } from "vitest";
import { mapLimit } from "./map-limit.js";

const tick = () => new Promise((r) => setTimeout(r, 2));

describe("mapLimit", () => {
  it("keeps at most `limit` calls in flight and gives results in input order", async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n, i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return `${i}:${n}`;
    });
    expect(out).toEqual(["0:5", "1:1", "2:4", "3:2", "4:3"]);
    expect(most).toBe(2);
  });

  it("starts nothing after the first failure and rejects with it once the calls in flight settled", async () => {
    const started: number[] = [];
    let settled = 0;
    const run = mapLimit([0, 1, 2, 3, 4, 5], 3, async (n) => {
      started.push(n);
      if (n === 1) throw new Error("item 1 failed");
      await tick();
      if (n === 2) throw new Error("item 2 failed too");
      await tick();
      settled++;
    });
    await expect(run).rejects.toThrow("item 1 failed");
    expect(started).toEqual([0, 1, 2]);
    expect(settled).toBe(1); // item 0 finished before the rejection; nothing ran on after it
  });

  it("gives an empty result for no items", async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });
});
