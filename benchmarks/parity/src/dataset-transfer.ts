/**
 * Dataset transfer through the o3ml service against MinIO, each side in its
 * own process as users run them:
 *   - `o3ml dataset push` of a folder of 1–4 MiB files (64 MiB shards);
 *   - reading one 64 MiB shard back by BlobService.Get (bytes over gRPC)
 *     versus Fetch (the co-located hand-over: a verified cache file, read
 *     from disk), first from a cold cache and then warm;
 * each beside the AWS SDK moving the same bytes straight to and from the
 * same MinIO in the same run, since only ratios compare across machines.
 *
 *   npx tsx benchmarks/parity/src/dataset-transfer.ts [--mib 512]
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createBlobStore } from "@o3ml/o3-client";
import { minioBinary, startMinio } from "@o3ml/standin";
import { DatasetClient } from "@o3ml/client";
import { startServiceProcess } from "./service-process.js";

const MiB = 1024 * 1024;
const total = Number(process.argv[process.argv.indexOf("--mib") + 1] || 512) * MiB;
const cli = fileURLToPath(new URL("../../../packages/o3ml/bin/o3ml.js", import.meta.url));

const bin = minioBinary();
if (!bin.path) throw new Error(`MinIO is needed for this benchmark: ${bin.reason}`);
const s3 = await startMinio({ binary: bin.path });
const home = mkdtempSync(join(tmpdir(), "o3ml-bench-"));
const svc = await startServiceProcess({
  O3ML_HOME: home,
  O3ML_ENDPOINT: s3.endpoint,
  O3ML_REGION: s3.region,
  O3ML_ACCESS_KEY_ID: s3.accessKeyId,
  O3ML_SECRET_ACCESS_KEY: s3.secretAccessKey,
  O3ML_BUCKET: "o3ml-bench-ds",
  O3ML_LOG_LEVEL: "warn",
});
const client = new DatasetClient(svc.address);
const direct = createBlobStore({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket: "o3ml-bench-ds", profile: "o3" });
const data = mkdtempSync(join(tmpdir(), "o3ml-bench-data-"));
try {
  let written = 0;
  for (let i = 0; written < total; i++) {
    const size = (1 + (i % 4)) * MiB;
    mkdirSync(join(data, `c${i % 4}`), { recursive: true });
    writeFileSync(join(data, `c${i % 4}`, `f${i}.bin`), randomBytes(size));
    written += size;
  }
  const t0 = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, [cli, "dataset", "push", data, "--name", "bench/push", "--shard-size", "64MiB", "--json"], {
    env: { ...process.env, O3ML_SERVICE: svc.address },
  });
  const wall = (performance.now() - t0) / 1000;
  const push = JSON.parse(stdout) as { bytesUploaded: number; shards: number; seconds: number };
  const d0 = performance.now();
  for (let off = 0, i = 0; off < push.bytesUploaded; off += 64 * MiB, i++) await direct.put(`direct/${i}`, randomBytes(Math.min(64 * MiB, push.bytesUploaded - off)));
  const directPut = push.bytesUploaded / MiB / ((performance.now() - d0) / 1000);
  console.log(
    `push: ${(push.bytesUploaded / MiB).toFixed(0)} MiB in ${push.shards} shards: ${(push.bytesUploaded / MiB / push.seconds).toFixed(1)} MiB/s ` +
      `(${(push.bytesUploaded / MiB / wall).toFixed(1)} MiB/s with process start); SDK put of 64 MiB objects ${directPut.toFixed(1)} MiB/s`,
  );

  const { manifest } = await client.resolve("bench/push");
  const shard = manifest.shards.reduce((a, b) => (b.size > a.size ? b : a));
  const mibs = (bytes: number, t: number) => `${(bytes / MiB / ((performance.now() - t) / 1000)).toFixed(0)} MiB/s`;
  const evict = () => rmSync(join(home, "cache", "blobs", shard.cid), { force: true });
  const get = async () => {
    const t = performance.now();
    let n = 0;
    for await (const b of client.getBlob(shard.cid)) n += b.byteLength;
    return mibs(n, t);
  };
  const fetch = async () => {
    const t = performance.now();
    const lease = await client.fetch(shard.cid);
    let n = 0;
    for await (const b of createReadStream(lease.path, { highWaterMark: 4 * MiB })) n += (b as Buffer).byteLength;
    await client.release(lease.lease);
    return mibs(n, t);
  };
  evict();
  const getCold = await get();
  const getWarm = await get();
  evict();
  const fetchCold = await fetch();
  const fetchWarm = await fetch();
  const d1 = performance.now();
  let n = 0;
  for await (const b of await direct.getStream("direct/0")) n += (b as Buffer).byteLength;
  console.log(`shard of ${(shard.size / MiB).toFixed(1)} MiB: Get cold ${getCold}, warm ${getWarm}; Fetch + read cold ${fetchCold}, warm ${fetchWarm}; SDK get of 64 MiB ${mibs(n, d1)}`);
} finally {
  client.close();
  direct.close();
  rmSync(data, { recursive: true, force: true });
  await svc.stop();
  await s3.stop();
}
