import { createHmac } from "node:crypto";

/** The seed `o3ml dataset push` shuffles with when given no --seed (recorded in the manifest either way). */
export const DEFAULT_SEED = 0;

/**
 * The place of a sample in its split's shard order: an HMAC-SHA256 of its key
 * keyed by the seed. A split's samples are packed into shards in the order of
 * this value, and in that order within each shard.
 *
 * Why a keyed hash of the key rather than a seeded permutation of the list:
 * a sample's place depends on nothing but (seed, key), so a folder sorted by
 * class (class_a/*, class_b/*) lands spread over every shard, while adding,
 * removing or changing a few files moves no other sample. Each shard holds a
 * range of hash values; a changed file invalidates only the shard holding it
 * (the reuse plan keeps every other shard as it is), where a permutation of
 * the whole list would reshuffle every shard and upload them all again. The
 * domain prefix keeps it independent of the --split hash of the same seed.
 */
export function orderKey(seed: number, key: string): Buffer {
  return createHmac("sha256", `o3ml-shard-order-v1\0${seed}`).update(key).digest();
}

/** `items` sorted by orderKey of their key (keys are unique within a version, so no ties). */
export function shuffledByKey<T extends { key: string }>(items: T[], seed: number): T[] {
  const keyed = items.map((item) => ({ item, at: orderKey(seed, item.key) }));
  keyed.sort((a, b) => Buffer.compare(a.at, b.at));
  return keyed.map((k) => k.item);
}
