import { createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { O3mlError } from "@o3ml/errors";
import { toHex } from "@o3ml/integrity";
import type { DatasetClient, WireDatasetManifest, WireVersionInfo } from "@o3ml/client";
import { ShardCheck, type PushProgress } from "@o3ml/datasets";
import { shardNames } from "./shard-names.js";
import { mapLimit } from "@o3ml/o3-client/map-limit";

export interface PullSummary {
  name: string;
  version: string;
  cid: string;
  dir: string;
  shards: number;
  bytes: number;
  seconds: number;
}

/**
 * Writes a version to `dir`: each shard as a tar file, checked against its
 * CID as it arrives, and `manifest.json`. Everything goes to a sibling
 * folder first, renamed to `dir` at the end, so `dir` either does not exist
 * or holds the complete version.
 */
export async function pullDataset(client: DatasetClient, spec: string, dir: string, progress: PushProgress): Promise<PullSummary> {
  const started = performance.now();
  const target = resolve(dir);
  const entries = await readdir(target).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  });
  if (entries && entries.length > 0) {
    throw new O3mlError("ALREADY_EXISTS", `${target} already exists and is not empty; pull into a new or empty folder`, { path: target });
  }
  const { info, manifest } = await client.resolve(spec);
  const names = shardNames(manifest.shards);
  const tmp = `${target}.o3ml-partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const bar = progress.start(`pull ${info.name}@${info.version}`, Number(info.bytes));
  try {
    await mapLimit(manifest.shards, 3, async (shard, i) => {
      const file = join(tmp, names[i]!);
      const check = new ShardCheck(shard);
      const out = createWriteStream(file);
      let size = 0;
      for await (const chunk of client.getBlob(shard.cid)) {
        await check.update(chunk);
        size += chunk.byteLength;
        bar.tick(chunk.byteLength);
        if (!out.write(chunk)) await once(out, "drain");
      }
      out.end();
      await once(out, "finish");
      const problems = await check.finish(size);
      if (problems.length) {
        throw new O3mlError("INTEGRITY", `shard ${names[i]} (cid ${shard.cid}) of ${info.name}@${info.version} failed verification: ${problems.join("; ")}; nothing was written to ${target}`, {
          cid: shard.cid,
        });
      }
    });
    await writeFile(join(tmp, "manifest.json"), `${JSON.stringify(manifestJson(info, manifest, names), null, 1)}\n`);
    if (entries) await rmdir(target);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    bar.stop();
  }
  return { name: info.name, version: info.version, cid: info.cid, dir: target, shards: manifest.shards.length, bytes: Number(info.bytes), seconds: Number(((performance.now() - started) / 1000).toFixed(3)) };
}

/** The manifest as JSON, with each shard's file name and digests in hex. */
export function manifestJson(info: WireVersionInfo, m: WireDatasetManifest, names: string[]) {
  return {
    name: info.name,
    version: info.version,
    cid: info.cid,
    parentCid: info.parentCid,
    created: new Date(info.createdUnixMs).toISOString(),
    samples: info.samples,
    bytes: info.bytes,
    splitSeed: m.splitSeed,
    shuffled: m.shuffled,
    shuffleSeed: m.shuffleSeed,
    schema: m.schema,
    shards: m.shards.map((s, i) => ({
      file: names[i],
      cid: s.cid,
      size: s.size,
      split: s.split,
      samples: s.samples.map((e) => ({ key: e.key, offset: e.offset, size: e.size, sha256: toHex(e.sha256) })),
    })),
  };
}
