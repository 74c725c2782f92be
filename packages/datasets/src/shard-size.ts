import { formatBytes } from "./byte-size.js";

const MiB = 1024 * 1024;
/** Shards a split is cut into at least, when it is big enough, with no --shard-size given. */
export const AUTO_SHARDS = 8;
/** Bounds of the size picked: below 1 MiB a shard costs more in requests than it holds; 64 MiB is the size the store is tuned for (docs/best-practices.md). */
export const AUTO_MIN = 1 * MiB;
export const AUTO_MAX = 64 * MiB;

/**
 * The shard size for a split of `bytes` when the user gave none: an eighth
 * of the split, within [1 MiB, 64 MiB]. Several shards let the reader's
 * shard-level shuffle mix the split and let data-loader workers and ranks
 * read it in parallel; a split under 8 MiB gets 1 MiB shards.
 */
export function autoShardSize(bytes: number): number {
  return Math.min(AUTO_MAX, Math.max(AUTO_MIN, Math.ceil(bytes / AUTO_SHARDS)));
}

/** The warning for a split that fits in one shard: what it costs and how to change it. */
export function oneShardWarning(split: string, samples: number, bytes: number, shardSize: number): string {
  return (
    `split ${split || "(all)"} (${samples} samples, ${formatBytes(bytes)}) fits in one shard of ${formatBytes(shardSize)}: ` +
    `its samples are not shuffled across shards and only one data-loader worker or rank reads it at a time; ` +
    `pass a smaller --shard-size (from 64KiB) to cut it into several shards`
  );
}
