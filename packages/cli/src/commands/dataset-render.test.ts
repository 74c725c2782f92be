import { describe, expect, it } from "vitest";
import { shardLine } from "./dataset-render.js";

describe("the push summary's shard line", () => {
  it("names no parent when there is none, and does not count already-stored shards as uploaded", () => {
    expect(shardLine({ shards: 32, shardsNew: 32, shardsReused: 0, shardsAlreadyStored: 32, parentCid: "" })).toBe("32 shards: 0 uploaded, 32 already in the bucket");
  });

  it("adds up to the shard count on an incremental push", () => {
    const line = shardLine({ shards: 10, shardsNew: 3, shardsReused: 7, shardsAlreadyStored: 1, parentCid: "bafyparent" });
    expect(line).toBe("10 shards: 2 uploaded, 1 already in the bucket, 7 reused from bafyparent");
    const counts = [...line.matchAll(/(\d+) (?:uploaded|already|reused)/g)].map((m) => Number(m[1]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10);
  });
});
