import { describe, expect, it } from "vitest";
import { assignSplit, parseSplitRatios } from "./split-ratios.js";

describe("--split ratios", () => {
  it("parses ratios and refuses ones that do not add up", () => {
    expect(parseSplitRatios("train=0.8,val=0.1,test=0.1").names).toEqual(["train", "val", "test"]);
    for (const bad of ["train=0.8,val=0.1", "train", "train=0.5,train=0.5", "a=1,b=0", "tr ain=1"]) {
      expect(() => parseSplitRatios(bad)).toThrow(/--split/);
    }
  });

  it("assigns each key by seed alone: stable as keys come and go, close to the ratios", () => {
    const r = parseSplitRatios("train=0.8,val=0.1,test=0.1");
    const keys = Array.from({ length: 5000 }, (_, i) => `k${i}`);
    const first = new Map(keys.map((k) => [k, assignSplit(r, 7, k)]));
    const counts: Record<string, number> = {};
    for (const s of first.values()) counts[s] = (counts[s] ?? 0) + 1;
    expect(counts.train! / 5000).toBeCloseTo(0.8, 1);
    expect(counts.val! / 5000).toBeCloseTo(0.1, 1);
    // More keys later: the old ones keep their split.
    for (const k of keys) expect(assignSplit(r, 7, k)).toBe(first.get(k));
    expect(keys.some((k) => assignSplit(r, 8, k) !== first.get(k))).toBe(true);
  });
});
