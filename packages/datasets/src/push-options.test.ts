import { describe, expect, it } from "vitest";
import { parsePushOptions } from "./push-options.js";

const base = { path: "/data/mnist", name: "mnist", shuffle: true };
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error("expected a refusal");
};

describe("parsePushOptions", () => {
  it("reads absent options (undefined or empty, as a staged PushDatasetOptions has them) as the CLI's defaults", () => {
    const expected = { path: "/data/mnist", name: "mnist", version: undefined, shardSize: undefined, ratios: undefined, seed: 0, shuffle: true, kind: undefined };
    expect(parsePushOptions(base)).toEqual(expected);
    expect(parsePushOptions({ ...base, version: "", shardSize: "", split: "", seed: "", kind: "" })).toEqual(expected);
  });

  it("reads sizes with units, split ratios, the seed and the kind", () => {
    const o = parsePushOptions({ ...base, version: "v1", shardSize: "64KiB", split: "train=0.75,val=0.25", seed: "42", shuffle: false, kind: "files" });
    expect(o).toEqual({ ...base, version: "v1", shardSize: 65536, ratios: { names: ["train", "val"], bounds: [0.75, 1] }, seed: 42, shuffle: false, kind: "files" });
  });

  it.each([
    [{ seed: "-1" }, "--seed -1: give a whole number from 0 to 2^53"],
    [{ seed: "1.5" }, "--seed 1.5"],
    [{ seed: String(2 ** 53) }, `--seed ${2 ** 53}`],
    [{ kind: "jpeg" }, "--kind jpeg: give one of imagefolder, files, npy, npz, csv, parquet"],
    [{ shardSize: "lots" }, '--shard-size "lots": give a size from 65536 bytes to 4 GiB'],
    [{ shardSize: "1KiB" }, '--shard-size "1KiB"'],
    [{ split: "train=0.5" }, '--split "train=0.5": the ratios add up to 0.5, not 1'],
  ])("refuses %o, naming the option and what to give", (bad, said) => {
    const err = refusal(() => parsePushOptions({ ...base, ...bad }));
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toContain(said);
  });
});
