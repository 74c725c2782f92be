import type { WireShard } from "@o3ml/client";

/**
 * File names of a version's shards when written out or reported:
 * `<split>-<index within split>.tar` (`data-…` for unsplit data), the names
 * WebDataset's brace patterns expect ("train-{000000..000009}.tar").
 */
export function shardNames(shards: WireShard[]): string[] {
  const next = new Map<string, number>();
  return shards.map((s) => {
    const split = s.split || "data";
    const i = next.get(split) ?? 0;
    next.set(split, i + 1);
    return `${split}-${String(i).padStart(6, "0")}.tar`;
  });
}
