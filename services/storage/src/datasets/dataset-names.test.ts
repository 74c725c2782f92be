import { describe, expect, it } from "vitest";
import { parseDatasetSpec, validateDatasetName, validateVersion } from "./dataset-names.js";

describe("dataset specs", () => {
  it("splits name and version, defaulting to latest", () => {
    expect(parseDatasetSpec("mnist")).toEqual({ name: "mnist", version: "latest" });
    expect(parseDatasetSpec("vision/cifar-10@latest")).toEqual({ name: "vision/cifar-10", version: "latest" });
    expect(parseDatasetSpec("mnist@v1.2")).toEqual({ name: "mnist", version: "v1.2" });
  });

  it("refuses names and versions that would not sit in a ref key or a spec", () => {
    for (const name of ["", "a@b", "/a", "a/", "a//b", "a/../b", ".hidden", "a b", "x".repeat(201)]) {
      expect(() => validateDatasetName(name)).toThrow(/dataset name/);
    }
    for (const version of ["", "latest", "a/b", "-x", "a@b"]) expect(() => validateVersion(version)).toThrow(/dataset version/);
    expect(() => parseDatasetSpec("mnist@")).toThrow(/dataset version/);
  });

  it("refuses every C0, DEL and C1 control character, the separators and lone surrogates in names and versions", () => {
    const refused = [...Array.from({ length: 0x20 }, (_, i) => i), ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i), 0x2028, 0x2029, 0xd800, 0xdfff];
    for (const cp of refused) {
      const c = String.fromCharCode(cp);
      for (const name of [`a${c}b`, `vision/${c}x`, `${c}`]) expect(() => validateDatasetName(name), `U+${cp.toString(16)}`).toThrow(/dataset name/);
      expect(() => validateVersion(`v1${c}`), `U+${cp.toString(16)}`).toThrow(/dataset version/);
    }
  });
});
