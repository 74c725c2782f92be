import { describe, expect, it } from "vitest";
import { AUTO_MAX, AUTO_MIN, autoShardSize } from "./shard-size.js";

const MiB = 1024 * 1024;

describe("autoShardSize", () => {
  it("gives a split 8 shards within 1 MiB to 64 MiB", () => {
    expect(autoShardSize(100)).toBe(AUTO_MIN);
    expect(autoShardSize(4 * MiB)).toBe(AUTO_MIN);
    expect(autoShardSize(80 * MiB)).toBe(10 * MiB);
    expect(autoShardSize(512 * MiB)).toBe(64 * MiB);
    expect(autoShardSize(100 * 1024 * MiB)).toBe(AUTO_MAX);
  });
});
