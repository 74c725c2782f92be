import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { O3mlError } from "@o3ml/errors";
import { toHex } from "@o3ml/integrity";
import type { DatasetClient, WireDatasetManifest } from "@o3ml/storage-service";
import { planReuse, type ParentShard, type SampleFacts } from "./reuse-plan.js";
import type { SourceKind } from "./sample.js";
import { hashSegment } from "./sample-segment.js";
import { ShardPacker } from "./shard-packer.js";
import { ShardUploader } from "./shard-uploader.js";
import { openSource } from "./sources/open-source.js";
import type { SplitRatios } from "./split-ratios.js";
import { summarize, type PushSummary } from "./push-summary.js";

export interface PushOptions {
  path: string;
  name: string;
  version?: string;
  shardSize: number;
  ratios?: SplitRatios;
  seed: number;
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
 * shards, uploads each as one blob, and commits the manifest. Nothing is
 * visible until the commit; a failure before it leaves only unreferenced
 * blobs for `o3ml gc`.
 */
export async function pushDataset(client: DatasetClient, o: PushOptions, progress: PushProgress): Promise<PushSummary> {
  const started = performance.now();
  const existing = await client.list(o.name);
  if (o.version && existing.some((v) => v.version === o.version)) {
    throw new O3mlError("ALREADY_EXISTS", `dataset ${o.name} already has version ${o.version}; pick another --version, or leave it out for a generated one`, { name: o.name });
  }
  const source = await openSource(o.path, { kind: o.kind, ratios: o.ratios, seed: o.seed });
  const parent = existing.length > 0 ? (await client.resolve(`${o.name}@latest`)) : undefined;
  const parentShards: ParentShard[] = parent?.manifest.shards ?? [];

  // Pass 1, only when there is something to reuse: the digest of every sample as it would be written.
  let plan = { reused: [] as ParentShard[], covered: new Set<string>() };
  let newBytes = source.estimatedBytes;
  if (parentShards.some((s) => s.samples.some((e) => e.sha256.length === 32))) {
    const facts = new Map<string, SampleFacts & { size: number }>();
    const bar = progress.start("scanning", source.estimatedBytes);
    try {
      for await (const sample of source.samples()) {
        const { sha256, size } = await hashSegment(sample);
        facts.set(sample.key, { split: sample.split, sha256: toHex(sha256), size });
        bar.tick(size);
      }
    } finally {
      bar.stop();
    }
    plan = planReuse(parentShards, facts);
    newBytes = 0;
    for (const [key, f] of facts) if (!plan.covered.has(key)) newBytes += f.size;
  }

  // Pass 2: pack what is new into shards and upload them, a few at a time.
  const dir = await mkdtemp(join(tmpdir(), "o3ml-push-"));
  const bar = progress.start("pushing", newBytes);
  const uploader = new ShardUploader(client, o.concurrency ?? 3);
  const packer = new ShardPacker(dir, o.shardSize, uploader, (n) => bar.tick(n));
  const splits: Record<string, number> = {};
  let samples = 0;
  try {
    for await (const sample of source.samples()) {
      samples++;
      splits[sample.split] = (splits[sample.split] ?? 0) + 1;
      if (!plan.covered.has(sample.key)) await packer.add(sample);
    }
    if (samples === 0) throw new O3mlError("INVALID_ARGUMENT", `${o.path} yielded no samples; nothing to push`, { path: o.path });
    await packer.finish();
    await uploader.flush();
  } catch (err) {
    await packer.discard();
    await uploader.settle();
    throw err;
  } finally {
    bar.stop();
    await rm(dir, { recursive: true, force: true });
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
  });
  const splitsInOrder = Object.fromEntries(Object.entries(splits).sort(([a], [b]) => splitRank(a) - splitRank(b) || (a < b ? -1 : 1)));
  return summarize({ info, source, splits: splitsInOrder, shards, reused: plan.reused.length, built: packer.built.length, uploader, seconds: (performance.now() - started) / 1000 });
}

/** Shards are listed train, val, test, then other splits (stable sort keeps their order within a split). */
function splitRank(split: string): number {
  const i = ["", "train", "val", "test"].indexOf(split);
  return i === -1 ? 4 : i;
}
