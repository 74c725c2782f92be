import { O3mlError } from "@o3ml/errors";
import type { DatasetClient } from "@o3ml/client";
import { ShardCheck, type PushProgress } from "@o3ml/datasets";
import { shardNames } from "./shard-names.js";
import { mapLimit } from "@o3ml/o3-client/map-limit";

export interface VerifySummary {
  name: string;
  version: string;
  cid: string;
  shards: number;
  shardsOk: number;
  bytes: number;
  failures: { shard: string; cid: string; problem: string }[];
  seconds: number;
}

/**
 * Re-reads every shard of a version from the bucket (not from any cache),
 * re-hashes it against its CID and checks each sample's range against the
 * manifest. Every shard is checked even after a failure, so one run lists
 * all the damage.
 */
export async function verifyDataset(client: DatasetClient, spec: string, progress: PushProgress): Promise<VerifySummary> {
  const started = performance.now();
  const { info, manifest } = await client.resolve(spec);
  const names = shardNames(manifest.shards);
  const failures: VerifySummary["failures"] = [];
  const bar = progress.start(`verify ${info.name}@${info.version}`, Number(info.bytes));
  try {
    await mapLimit(manifest.shards, 3, async (shard, i) => {
      const check = new ShardCheck(shard);
      let size = 0;
      try {
        for await (const chunk of client.getBlob(shard.cid, { fromStore: true })) {
          await check.update(chunk);
          size += chunk.byteLength;
          bar.tick(chunk.byteLength);
        }
        const problems = await check.finish(size);
        if (problems.length) failures.push({ shard: names[i]!, cid: shard.cid, problem: problems.join("; ") });
      } catch (err) {
        const e = O3mlError.from(err);
        if (e.code !== "INTEGRITY" && e.code !== "NOT_FOUND") throw e;
        failures.push({ shard: names[i]!, cid: shard.cid, problem: e.message });
      }
    });
  } finally {
    bar.stop();
  }
  failures.sort((a, b) => names.indexOf(a.shard) - names.indexOf(b.shard));
  return {
    name: info.name,
    version: info.version,
    cid: info.cid,
    shards: manifest.shards.length,
    shardsOk: manifest.shards.length - failures.length,
    bytes: Number(info.bytes),
    failures,
    seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
  };
}
