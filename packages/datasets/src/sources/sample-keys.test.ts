import { describe, expect, it } from "vitest";
import { keyAndExt, rowKey } from "./sample-keys.js";

describe("sample keys", () => {
  it("follows WebDataset's grouping: no dot in a key's file name, lowercase extension", () => {
    expect(keyAndExt("train/cat/img.001.PNG")).toEqual({ key: "train/cat/img_001", ext: "png" });
    expect(keyAndExt("a.b/README")).toEqual({ key: "a.b/README", ext: "bin" });
    expect(keyAndExt("notes/.draft")).toEqual({ key: "notes/_draft", ext: "bin" });
    expect(rowKey(42)).toBe("0000000042");
  });
});
