import { describe, expect, it } from "vitest";
import { checkContentType, checkLabels, checkMetricsSize, CONTENT_TYPE_MAX_BYTES, LABEL_LIMITS, METRIC_LIMITS } from "./labels.js";

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

describe("checkContentType", () => {
  it("passes a media type up to the limit, counted in bytes, and treats an empty one as none", () => {
    expect(checkContentType("application/x-tar; charset=binary", "put a")).toBe("application/x-tar; charset=binary");
    expect(checkContentType("a/" + "é".repeat((CONTENT_TYPE_MAX_BYTES - 2) / 2), "put a")).toHaveLength(2 + (CONTENT_TYPE_MAX_BYTES - 2) / 2);
    expect(checkContentType("", "put a")).toBeUndefined();
    expect(checkContentType(undefined, "put a")).toBeUndefined();
  });

  it.each([
    ["one byte over", "a/" + "b".repeat(CONTENT_TYPE_MAX_BYTES - 1), /put a: the content type is 257 bytes, at most 256 are allowed.*; nothing was stored$/],
    ["over in bytes, not in characters", "a/" + "é".repeat(CONTENT_TYPE_MAX_BYTES / 2), /is 258 bytes, at most 256/],
    ["3 MiB", "x".repeat(3 << 20), /is 3145728 bytes/],
    ["a newline", "text/plain\nx", /contains U\+000A \(a control character\).*nothing was stored$/],
    ["a C1 control", "text/plain\u009b", /contains U\+009B \(a C1 control character\)/],
    ["a line separator", "text/plain\u2028", /contains U\+2028/],
  ])("refuses %s, saying what and that nothing was stored", (_label, contentType, message) => {
    expect(() => checkContentType(contentType, "put a")).toThrow(message);
    try {
      checkContentType(contentType, "put a");
    } catch (e) {
      expect((e as { code: string }).code).toBe("INVALID_ARGUMENT");
    }
  });
});
