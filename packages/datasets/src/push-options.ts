import { O3mlError } from "@o3ml/errors";
import type { PushOptions } from "./push-dataset.js";
import type { SourceKind } from "./sample.js";
import { DEFAULT_SEED } from "./shard-order.js";
import { parseSize } from "./byte-size.js";
import { parseSplitRatios } from "./split-ratios.js";

/** What `--kind` accepts. */
export const SOURCE_KINDS: readonly SourceKind[] = ["imagefolder", "files", "npy", "npz", "csv", "parquet"];

/** Smallest and largest `--shard-size`. */
const SHARD_SIZE_MIN = 64 * 1024;
const SHARD_SIZE_MAX = 4 * 1024 ** 3;

/**
 * The options of `o3ml dataset push` as text, as the CLI takes them and as
 * DatasetService.Push reads them from its staged PushDatasetOptions (an
 * absent option is undefined or "").
 */
export interface PushOptionTexts {
  path: string;
  name: string;
  version?: string;
  shardSize?: string;
  split?: string;
  seed?: string;
  shuffle: boolean;
  kind?: string;
}

/**
 * The push's options, checked: each bad one is INVALID_ARGUMENT naming the
 * option and what to give. The one check of them, whichever way the push
 * runs (the CLI, or the service for Python's push_dataset), so both refuse
 * the same input with the same message.
 */
export function parsePushOptions(t: PushOptionTexts): PushOptions {
  const seedText = t.seed || String(DEFAULT_SEED);
  const seed = Number(seedText);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new O3mlError("INVALID_ARGUMENT", `--seed ${seedText}: give a whole number from 0 to 2^53`, { option: "seed" });
  if (t.kind && !SOURCE_KINDS.includes(t.kind as SourceKind)) throw new O3mlError("INVALID_ARGUMENT", `--kind ${t.kind}: give one of ${SOURCE_KINDS.join(", ")}`, { option: "kind" });
  return {
    path: t.path,
    name: t.name,
    version: t.version || undefined,
    shardSize: t.shardSize ? parseSize("--shard-size", t.shardSize, SHARD_SIZE_MIN, SHARD_SIZE_MAX) : undefined,
    ratios: t.split ? parseSplitRatios(t.split) : undefined,
    seed,
    shuffle: t.shuffle,
    kind: (t.kind || undefined) as SourceKind | undefined,
  };
}
