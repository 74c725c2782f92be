import type { WireDatasetManifest } from "@o3ml/client";

export type ParentShard = WireDatasetManifest["shards"][number];

/** What a sample of the new version is: its split and its segment digest (hex). */
export interface SampleFacts {
  split: string;
  sha256: string;
}

/**
 * Whether the parent's shards are laid out as this push lays them out: both
 * in key order, or both shuffled with the same seed. Only then can a parent
 * shard stand in a new version as it is; otherwise every sample is packed
 * again, so that the manifest's seed says how every shard was made.
 */
export function sameOrder(parent: Pick<WireDatasetManifest, "shuffled" | "shuffleSeed">, shuffled: boolean, seed: number): boolean {
  return parent.shuffled === shuffled && (!shuffled || parent.shuffleSeed === seed);
}

/**
 * Which shards of the parent version the new version keeps as they are: a
 * shard whose every sample is still present, in the same split, with the
 * same bytes (key and digest match). Its samples are "covered" and are not
 * written again; every other sample goes into new shards.
 */
export function planReuse(parent: ParentShard[], current: Map<string, SampleFacts>): { reused: ParentShard[]; covered: Set<string> } {
  const reused: ParentShard[] = [];
  const covered = new Set<string>();
  for (const shard of parent) {
    const unchanged = shard.samples.every((s) => {
      const now = current.get(s.key);
      return now !== undefined && !covered.has(s.key) && now.split === shard.split && s.sha256.length === 32 && now.sha256 === Buffer.from(s.sha256).toString("hex");
    });
    if (!unchanged || shard.samples.length === 0) continue;
    reused.push(shard);
    for (const s of shard.samples) covered.add(s.key);
  }
  return { reused, covered };
}
