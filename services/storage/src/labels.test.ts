import { describe, expect, it } from "vitest";
import { checkLabels, checkMetricsSize, LABEL_LIMITS, METRIC_LIMITS } from "./labels.js";

const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));

describe("checkLabels", () => {
  it("passes labels within the limits through as a copy", () => {
    const labels = { team: "vision", "é": "x".repeat(LABEL_LIMITS.valueBytes) };
    const out = checkLabels(labels, "put a");
    expect(out).toEqual(labels);
    expect(out).not.toBe(labels);
    expect(checkLabels(undefined, "put a")).toEqual({});
  });

  it.each([
    ["too many", many(LABEL_LIMITS.count + 1), /65 labels, at most 64/],
    ["an empty name", { "": "v" }, /label names must be 1 to 128 bytes/],
    ["a long name", { ["n".repeat(LABEL_LIMITS.keyBytes + 1)]: "v" }, /label names must be 1 to 128 bytes/],
    ["a long value (counted in bytes)", { k: "é".repeat(LABEL_LIMITS.valueBytes / 2 + 1) }, /is 1026 bytes, at most 1024/],
  ])("refuses %s, saying nothing was stored", (_label, labels, message) => {
    expect(() => checkLabels(labels as Record<string, string>, "put models/a.bin")).toThrow(message);
    expect(() => checkLabels(labels as Record<string, string>, "put models/a.bin")).toThrow(/^put models\/a\.bin: .*; nothing was stored$/);
  });
});

describe("checkMetricsSize", () => {
  it("refuses too many metrics or a long name", () => {
    expect(() => checkMetricsSize(many(METRIC_LIMITS.count), "save c")).not.toThrow();
    expect(() => checkMetricsSize(many(METRIC_LIMITS.count + 1), "save c")).toThrow(/257 metrics/);
    expect(() => checkMetricsSize({ ["m".repeat(129)]: 1 }, "save c")).toThrow(/at most 128 bytes/);
  });
});
