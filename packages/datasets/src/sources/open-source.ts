import { stat } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { O3mlError } from "@o3ml/errors";
import type { SampleSource, SourceKind } from "../sample.js";
import type { SplitRatios } from "../split-ratios.js";
import { arraySource } from "./array-source.js";
import { csvSource } from "./csv-source.js";
import { folderSource } from "./folder-source.js";

export interface SourceOptions {
  kind?: SourceKind;
  ratios?: SplitRatios;
  seed: number;
}

/** The kind of input at `path`: a folder (ImageFolder or plain files), or an .npy, .npz, .csv or .parquet file. */
export async function openSource(path: string, opts: SourceOptions): Promise<SampleSource> {
  const abs = resolve(path);
  const s = await stat(abs).catch((err) => {
    throw new O3mlError("INVALID_ARGUMENT", `cannot read ${abs}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : (err as Error).message}`, { path: abs });
  });
  const ext = extname(abs).toLowerCase().slice(1);
  const kind: SourceKind | undefined = opts.kind ?? (s.isDirectory() ? undefined : (["npy", "npz", "csv", "parquet"] as const).find((k) => k === ext));
  if (s.isDirectory()) {
    if (kind && kind !== "imagefolder" && kind !== "files") throw new O3mlError("INVALID_ARGUMENT", `${abs} is a folder; --kind ${kind} needs a .${kind} file`, { path: abs });
    return folderSource(abs, { kind, ratios: opts.ratios, seed: opts.seed });
  }
  switch (kind) {
    case "npy":
    case "npz":
      return arraySource(abs, opts);
    case "csv":
      return csvSource(abs, opts);
    case "parquet":
      throw new O3mlError(
        "UNIMPLEMENTED",
        `${abs}: reading Parquet needs a Parquet reader, and none is installed; convert the table to CSV (pandas: pd.read_parquet(p).to_csv(out, index=False)) and push that`,
        { path: abs },
      );
    default:
      throw new O3mlError("INVALID_ARGUMENT", `${abs} is not a dataset o3ml can read: give a folder (ImageFolder or any files) or an .npy, .npz, .csv or .parquet file`, { path: abs });
  }
}
