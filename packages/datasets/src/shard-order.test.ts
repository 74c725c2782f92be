import { describe, expect, it } from "vitest";
import { orderKey, shuffledByKey } from "./shard-order.js";

const keys = (n: number, prefix = "k") => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${String(i).padStart(4, "0")}` }));

describe("shard order", () => {
  it("is a function of (seed, key) alone: other keys coming and going do not move a key against the rest", () => {
    const all = keys(200);
    const order = shuffledByKey(all, 5).map((s) => s.key);
    const fewer = shuffledByKey(all.filter((_, i) => i % 3 !== 0), 5).map((s) => s.key);
    expect(fewer).toEqual(order.filter((k) => fewer.includes(k)));
    expect(shuffledByKey([...all].reverse(), 5).map((s) => s.key)).toEqual(order);
  });

  it("spreads a sorted list: no long runs of one prefix, and another seed gives another order", () => {
    const sorted = [...keys(100, "a/"), ...keys(100, "b/")];
    const order = shuffledByKey(sorted, 0).map((s) => s.key[0]);
    const firstHalf = order.slice(0, 100).filter((c) => c === "a").length;
    expect(firstHalf).toBeGreaterThan(30);
    expect(firstHalf).toBeLessThan(70);
    expect(shuffledByKey(sorted, 1)).not.toEqual(shuffledByKey(sorted, 0));
    expect(orderKey(0, "a/0001")).toEqual(orderKey(0, "a/0001"));
  });
});
