import { describe, expect, it } from "vitest";
import { planReuse, sameOrder, type ParentShard } from "./reuse-plan.js";

const digest = (n: number) => new Uint8Array(32).fill(n);
const hex = (n: number) => Buffer.from(digest(n)).toString("hex");
const shard = (cid: string, split: string, keys: [string, number][]): ParentShard => ({
  cid,
  size: 1,
  split,
  samples: keys.map(([key, d], i) => ({ key, offset: i, size: 1, sha256: digest(d) })),
});

describe("planReuse", () => {
  it("keeps shards whose samples are all present and unchanged, and nothing else", () => {
    const parent = [shard("s1", "train", [["a", 1], ["b", 2]]), shard("s2", "train", [["c", 3], ["d", 4]]), shard("s3", "val", [["e", 5]]), shard("s4", "train", [["f", 6]])];
    const current = new Map([
      ["a", { split: "train", sha256: hex(1) }],
      ["b", { split: "train", sha256: hex(2) }],
      ["c", { split: "train", sha256: hex(9) }], // changed
      ["d", { split: "train", sha256: hex(4) }],
      ["e", { split: "train", sha256: hex(5) }], // moved to another split
      ["g", { split: "train", sha256: hex(7) }], // new
    ]); // f removed
    const { reused, covered } = planReuse(parent, current);
    expect(reused.map((s) => s.cid)).toEqual(["s1"]);
    expect([...covered]).toEqual(["a", "b"]);
  });

  it("does not reuse samples without a digest", () => {
    const parent = [{ ...shard("s1", "", [["a", 1]]), samples: [{ key: "a", offset: 0, size: 1, sha256: new Uint8Array(0) }] }];
    expect(planReuse(parent, new Map([["a", { split: "", sha256: "" }]])).reused).toEqual([]);
  });
});

describe("sameOrder", () => {
  it("lends a parent's shards only when it was laid out the same way", () => {
    expect(sameOrder({ shuffled: true, shuffleSeed: 3 }, true, 3)).toBe(true);
    expect(sameOrder({ shuffled: true, shuffleSeed: 3 }, true, 4)).toBe(false);
    expect(sameOrder({ shuffled: false, shuffleSeed: 0 }, true, 0)).toBe(false);
    expect(sameOrder({ shuffled: false, shuffleSeed: 0 }, false, 9)).toBe(true);
  });
});
