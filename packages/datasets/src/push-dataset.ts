import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { O3mlError } from "@o3ml/errors";
import { toHex } from "@o3ml/integrity";
import type { WireDatasetManifest } from "@o3ml/client";
import type { DatasetStore } from "./dataset-store.js";
import { planReuse, sameOrder, type ParentShard, type SampleFacts } from "./reuse-plan.js";
import type { Sample, SourceKind } from "./sample.js";
import { hashSegment, segmentLength } from "./sample-segment.js";
import { SampleSpool } from "./sample-spool.js";
import { shuffledByKey } from "./shard-order.js";
import { ShardPacker } from "./shard-packer.js";
import { autoShardSize, oneShardWarning } from "./shard-size.js";
import { ShardUploader } from "./shard-uploader.js";
import { openSource } from "./sources/open-source.js";
import type { SplitRatios } from "./split-ratios.js";
import { summarize, type PushSummary } from "./push-summary.js";

export interface PushOptions {
  path: string;
  name: string;
  version?: string;
  /** Target shard size; picked per split (autoShardSize) when absent. */
  shardSize?: number;
  ratios?: SplitRatios;
  /** Seed of --split and of the shard order. */
  seed: number;
  /** Spread each split's samples over its shards by a keyed hash of their keys (shard-order.ts); false keeps key order. */
  shuffle: boolean;
  kind?: SourceKind;
  /** Shards uploaded at once. */
  concurrency?: number;
}

export interface PushProgress {
  start(label: string, total: number): { tick(n: number): void; stop(): void };
}

/**
 * Pushes a dataset version: reads the input, packs the samples that are not
 * already in a reusable shard of the latest version into new WebDataset tar
 * shards, split by split in shard order (shard-order.ts), uploads each as one
 * blob, and commits the manifest. Nothing is visible until the commit; a
 * failure before it leaves only unreferenced blobs for `o3ml gc`.
 */
export async function pushDataset(client: DatasetStore, o: PushOptions, progress: PushProgress): Promise<PushSummary> {
  const started = performance.now();
  const existing = await client.list(o.name);
  if (o.version && existing.some((v) => v.version === o.version)) {
    throw new O3mlError("ALREADY_EXISTS", `dataset ${o.name} already has version ${o.version}; pick another --version, or leave it out for a generated one`, { name: o.name });
  }
  const source = await openSource(o.path, { kind: o.kind, ratios: o.ratios, seed: o.seed });
  const parent = existing.length > 0 ? (await client.resolve(`${o.name}@latest`)) : undefined;
  const parentShards: ParentShard[] = parent && sameOrder(parent.manifest, o.shuffle, o.seed) ? parent.manifest.shards : [];

  const dir = await mkdtemp(join(tmpdir(), "o3ml-push-"));
  const spool = await SampleSpool.create(dir);
  const uploader = new ShardUploader(client, o.concurrency ?? 3);
  let packer: ShardPacker | undefined;
  try {
    // Pass 1: every sample, held until its split is complete, since the shard order needs all of a split's keys.
    const bySplit = new Map<string, { samples: Sample[]; bytes: number }>();
    const reading = progress.start("reading", source.estimatedBytes);
    try {
      for await (const sample of source.samples()) {
        const held = await spool.hold(sample);
        const split = bySplit.get(sample.split) ?? { samples: [], bytes: 0 };
        split.samples.push(held);
        split.bytes += segmentLength(held);
        bySplit.set(sample.split, split);
        reading.tick(sample.members.reduce((n, m) => n + m.size, 0));
      }
      await spool.flush();
    } finally {
      reading.stop();
    }
    if (bySplit.size === 0) throw new O3mlError("INVALID_ARGUMENT", `${o.path} yielded no samples; nothing to push`, { path: o.path });
    const splitNames = [...bySplit.keys()].sort((a, b) => splitRank(a) - splitRank(b) || (a < b ? -1 : 1));
    const sizes = new Map(splitNames.map((name) => [name, o.shardSize ?? autoShardSize(bySplit.get(name)!.bytes)]));

    // Pass 2, only when there is something to reuse: the digest of every sample as it would be written.
    let plan = { reused: [] as ParentShard[], covered: new Set<string>() };
    let newBytes = source.estimatedBytes;
    if (parentShards.some((s) => s.samples.some((e) => e.sha256.length === 32))) {
      const facts = new Map<string, SampleFacts & { size: number }>();
      const bar = progress.start("scanning", source.estimatedBytes);
      try {
        for (const { samples } of bySplit.values()) {
          for (const sample of samples) {
            const { sha256, size } = await hashSegment(sample);
            facts.set(sample.key, { split: sample.split, sha256: toHex(sha256), size });
            bar.tick(size);
          }
        }
      } finally {
        bar.stop();
      }
      plan = planReuse(parentShards, facts);
      newBytes = 0;
      for (const [key, f] of facts) if (!plan.covered.has(key)) newBytes += f.size;
    }

    // Pass 3: pack what is new into shards, split by split in shard order, and upload them, a few at a time.
    const bar = progress.start("pushing", newBytes);
    packer = new ShardPacker(dir, (split) => sizes.get(split)!, uploader, (n) => bar.tick(n));
    try {
      for (const name of splitNames) {
        const fresh = bySplit.get(name)!.samples.filter((s) => !plan.covered.has(s.key));
        for (const sample of o.shuffle ? shuffledByKey(fresh, o.seed) : fresh) await packer.add(sample);
      }
      await packer.finish();
      await uploader.flush();
    } finally {
      bar.stop();
    }

    const shards: WireDatasetManifest["shards"] = [...plan.reused, ...packer.built.map(({ cid, size, split, samples }) => ({ cid, size, split, samples }))];
    shards.sort((a, b) => splitRank(a.split) - splitRank(b.split));
    const info = await client.commit({
      name: o.name,
      version: o.version ?? "",
      parentCid: parent?.info.cid ?? "",
      shards,
      schema: { sourceKind: source.kind, ...source.schema },
      splitSeed: o.ratios ? o.seed : 0,
      shuffled: o.shuffle,
      shuffleSeed: o.shuffle ? o.seed : 0,
    });
    const splits = Object.fromEntries(splitNames.map((name) => [name, bySplit.get(name)!.samples.length]));
    const warnings = splitNames
      .filter((name) => shards.filter((s) => s.split === name).length === 1)
      .map((name) => oneShardWarning(name, bySplit.get(name)!.samples.length, bySplit.get(name)!.bytes, sizes.get(name)!));
    if (parent && parentShards.length === 0) {
      const was = parent.manifest.shuffled ? `shuffled with seed ${parent.manifest.shuffleSeed}` : "in key order";
      warnings.push(`${o.name}@${parent.info.version} has its samples ${was}, so none of its shards fit this push's order and every sample was uploaded again; pass ${parent.manifest.shuffled ? `--seed ${parent.manifest.shuffleSeed}` : "--no-shuffle"} to reuse them`);
    }
    return summarize({
      info,
      source,
      splits,
      shards,
      reused: plan.reused.length,
      built: packer.built.length,
      uploader,
      shuffled: o.shuffle,
      seed: o.seed,
      warnings,
      seconds: (performance.now() - started) / 1000,
    });
  } catch (err) {
    await packer?.discard();
    await uploader.settle();
    throw err;
  } finally {
    await spool.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Shards are listed train, val, test, then other splits (stable sort keeps their order within a split). */
function splitRank(split: string): number {
  const i = ["", "train", "val", "test"].indexOf(split);
  return i === -1 ? 4 : i;
}
