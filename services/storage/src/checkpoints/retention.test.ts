import { describe, expect, it } from "vitest";
import { checkRules, parseDuration, reasonsToKeep, type Candidate, type RetentionRules } from "./retention.js";

const HOUR = 3_600_000;
const NOW = Date.parse("2026-01-10T00:00:00Z");
/** Six checkpoints one hour apart, the newest an hour old; epochs 0..5, steps 10, 20, …; val_loss not monotonic. */
const losses = [0.9, 0.2, 0.7, 0.2, 0.6, 0.5];
const saved: Candidate[] = losses.map((loss, epoch): Candidate => ({
  cid: `c${epoch}`,
  step: 10 * (epoch + 1),
  epoch,
  metrics: epoch === 2 ? {} : { val_loss: loss, acc: 1 - loss },
  createdUnixMs: NOW - (6 - epoch) * HOUR,
}));
const none: RetentionRules = { keepLast: 0, keepBest: [] };
const free = { pinned: new Set<string>(), resumedBy: new Map<string, string[]>(), nowMs: NOW };
const kept = (rules: Partial<RetentionRules>, protections = free) =>
  Object.fromEntries([...reasonsToKeep(saved, { ...none, ...rules }, protections)].filter(([, why]) => why.length > 0));

describe("retention rules", () => {
  it("keep the newest always, and whatever any rule keeps, saying why", () => {
    expect(kept({ keepLast: 2 })).toEqual({ c4: ["last 2"], c5: ["newest", "last 2"] });
    // Of equal values the earlier ranks first; a checkpoint without the metric is not ranked.
    expect(kept({ keepBest: [{ count: 1, metric: "val_loss", mode: "min" }] })).toEqual({ c1: ["best 1 by val_loss (min)"], c5: ["newest"] });
    expect(kept({ keepBest: [{ count: 2, metric: "acc", mode: "max" }] })).toEqual({ c1: ["best 2 by acc (max)"], c3: ["best 2 by acc (max)"], c5: ["newest"] });
    expect(kept({ keepBest: [{ count: 1, metric: "nowhere", mode: "min" }] })).toEqual({ c5: ["newest"] });
    expect(kept({ keepEvery: { every: 2, unit: "epoch" } })).toEqual({ c0: ["every 2 epochs"], c2: ["every 2 epochs"], c4: ["every 2 epochs"], c5: ["newest"] });
    expect(kept({ keepEvery: { every: 25, unit: "step" } })).toEqual({ c0: ["every 25 steps"], c2: ["every 25 steps"], c4: ["every 25 steps"], c5: ["newest"] });
    expect(kept({ keepWithin: "3h" })).toEqual({ c3: ["within 3h"], c4: ["within 3h"], c5: ["newest", "within 3h"] });
  });

  it("keep pinned checkpoints and those another run resumed from, whatever the rules", () => {
    const protections = { ...free, pinned: new Set(["c0"]), resumedBy: new Map([["c2", ["r2", "r3"]]]) };
    expect(kept({ keepLast: 1 }, protections)).toEqual({ c0: ["pinned"], c2: ["resumed from by run r2", "resumed from by run r3"], c5: ["newest", "last 1"] });
  });

  it("refuse no rule at all, and rules that cannot be applied, naming what to give", () => {
    expect(() => checkRules(none)).toThrow("--keep-last 1");
    expect(() => checkRules({ ...none, keepBest: [{ count: 1, metric: "val_loss", mode: "lowest" as "min" }] })).toThrow("neither min");
    expect(() => checkRules({ ...none, keepBest: [{ count: 0, metric: "val_loss", mode: "min" }] })).toThrow(">= 1");
    expect(() => checkRules({ ...none, keepEvery: { every: 1, unit: "week" as "step" } })).toThrow("neither step nor epoch");
    expect(() => checkRules({ ...none, keepWithin: "1w" })).toThrow("s, m, h, d");
    expect(() => checkRules({ ...none, keepLast: 1 })).not.toThrow();
  });

  it("read durations as a whole number and one unit", () => {
    expect([parseDuration("90s"), parseDuration("30m"), parseDuration("24h"), parseDuration("7d")]).toEqual([90_000, 1_800_000, 86_400_000, 604_800_000]);
    for (const bad of ["", "24", "h", "1.5h", "-1h", "1h30m", "24 hours"]) expect(() => parseDuration(bad)).toThrow("whole number and a unit");
  });
});
