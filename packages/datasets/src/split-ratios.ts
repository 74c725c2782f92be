import { createHash } from "node:crypto";
import { O3mlError } from "@o3ml/errors";

export interface SplitRatios {
  names: string[];
  /** Upper bounds of each split in [0, 1), cumulative. */
  bounds: number[];
}

/** Parses "train=0.8,val=0.1,test=0.1": names with ratios that add up to 1. */
export function parseSplitRatios(text: string): SplitRatios {
  const bad = (why: string) =>
    new O3mlError("INVALID_ARGUMENT", `--split ${JSON.stringify(text)}: ${why}; write it as train=0.8,val=0.1,test=0.1`, { option: "split" });
  const names: string[] = [];
  const bounds: number[] = [];
  let total = 0;
  for (const part of text.split(",")) {
    const m = /^\s*([A-Za-z0-9_-]{1,64})\s*=\s*(\d*\.?\d+)\s*$/.exec(part);
    if (!m) throw bad(`${JSON.stringify(part)} is not name=ratio`);
    const ratio = Number(m[2]);
    if (names.includes(m[1]!)) throw bad(`split ${m[1]} is named twice`);
    if (!(ratio > 0)) throw bad(`split ${m[1]} has no share`);
    names.push(m[1]!);
    total += ratio;
    bounds.push(total);
  }
  if (Math.abs(total - 1) > 1e-6) throw bad(`the ratios add up to ${Number(total.toFixed(6))}, not 1`);
  bounds[bounds.length - 1] = 1;
  return { names, bounds };
}

/**
 * The split of a sample: a seeded hash of its key mapped onto the ratios.
 * It depends on nothing but (seed, key, ratios), so a sample keeps its split
 * when other samples are added or removed: a new version with more files
 * reassigns none of the old ones, and their shards can be reused as they are.
 */
export function assignSplit(ratios: SplitRatios, seed: number, key: string): string {
  const h = createHash("sha256").update(`${seed}\0${key}`).digest();
  const u = (h.readUInt32BE(0) * 2 ** 21 + (h.readUInt32BE(4) >>> 11)) / 2 ** 53;
  const i = ratios.bounds.findIndex((b) => u < b);
  return ratios.names[i === -1 ? ratios.names.length - 1 : i]!;
}
