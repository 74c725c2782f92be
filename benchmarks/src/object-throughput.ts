/**
 * Object put/get throughput through the o3ml service (gRPC → chunk, hash,
 * dedup check → S3) versus the AWS SDK straight to the same MinIO, same
 * object sizes, same concurrency, measured side by side in one run. Each
 * measured object is fresh random bytes, so dedup never helps the service.
 *
 *   npx tsx benchmarks/src/object-throughput.ts [--quick]
 *
 * A stand-alone probe (MinIO only) writing benchmarks/results/object-throughput.{json,md};
 * `npm run bench` (benchmarks/parity) measures the same paths on both targets
 * and owns latest.{json,md}.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bench } from "tinybench";
import { createBlobStore, type O3Config } from "@o3ml/o3-client";
import { minioBinary, startMinio } from "@o3ml/standin";
import { ServiceClient } from "@o3ml/storage-service";
import { startServiceProcess } from "./service-process.js";
import { writeResults, type Comparison } from "./results.js";

const MiB = 1024 * 1024;
const quick = process.argv.includes("--quick");
const sizes = quick ? [1 * MiB, 64 * MiB] : [1 * MiB, 64 * MiB, 1024 * MiB];

async function* pieces(buf: Buffer, piece = 2 * MiB) {
  for (let off = 0; off < buf.length; off += piece) yield buf.subarray(off, Math.min(buf.length, off + piece));
}
async function drain(it: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const b of it) n += b.byteLength;
  return n;
}

const bin = minioBinary();
if (!bin.path) throw new Error(`MinIO is needed for this benchmark: ${bin.reason}`);
const s3 = await startMinio({ binary: bin.path });
process.env.O3ML_HOME = mkdtempSync(join(tmpdir(), "o3ml-bench-"));
const config: O3Config = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket: "o3ml-bench", profile: "o3" };
const svc = await startServiceProcess({
  O3ML_ENDPOINT: s3.endpoint,
  O3ML_REGION: s3.region,
  O3ML_ACCESS_KEY_ID: s3.accessKeyId,
  O3ML_SECRET_ACCESS_KEY: s3.secretAccessKey,
  O3ML_BUCKET: config.bucket,
  O3ML_LOG_LEVEL: "warn",
});
const client = new ServiceClient(svc.address);
const direct = createBlobStore(config);

const comparisons: Comparison[] = [];
const rows: string[] = [];
try {
  for (const size of sizes) {
    const iterations = size >= 1024 * MiB ? 2 : size >= 64 * MiB ? 4 : 20;
    let n = 0;
    const fresh = () => randomBytes(size);
    let data = fresh();
    const bench = new Bench({ iterations, warmupIterations: 1, time: 0, warmupTime: 0 });
    bench
      .add(`service put ${size / MiB} MiB`, async () => {
        await client.put(`bench/svc-${n++}`, pieces(data), { size });
      }, { beforeEach: () => void (data = fresh()) })
      .add(`direct put ${size / MiB} MiB`, async () => {
        await direct.put(`bench/direct-${n++}`, data);
      }, { beforeEach: () => void (data = fresh()) });
    await bench.run();
    await client.put("bench/read", pieces(data), { size });
    await direct.put("bench/read-direct", data);
    const getBench = new Bench({ iterations, warmupIterations: 1, time: 0, warmupTime: 0 });
    getBench
      .add(`service get ${size / MiB} MiB`, async () => {
        const { data: body } = await client.get("bench/read");
        await drain(body);
      })
      .add(`direct get ${size / MiB} MiB`, async () => {
        await drain(await direct.getStream("bench/read-direct"));
      });
    await getBench.run();
    for (const op of ["put", "get"] as const) {
      const tasks = (op === "put" ? bench : getBench).tasks;
      const mibps = (name: string) => {
        const t = tasks.find((x) => x.name.startsWith(name))!;
        const mean = t.result && "latency" in t.result ? (t.result as { latency: { mean: number } }).latency.mean : NaN;
        return size / MiB / (mean / 1000);
      };
      const svcRate = mibps(`service ${op}`);
      const directRate = mibps(`direct ${op}`);
      comparisons.push({ metric: `${op} ${size / MiB} MiB object`, unit: "MiB/s", higherIsBetter: true, o3ml: svcRate, peer: "@aws-sdk/client-s3 direct", peerValue: directRate, ratio: svcRate / directRate });
      rows.push(`| ${op} | ${size / MiB} MiB | ${svcRate.toFixed(0)} | ${directRate.toFixed(0)} | ${(svcRate / directRate).toFixed(2)}× |`);
    }
  }
} finally {
  client.close();
  direct.close();
  await svc.stop();
  await s3.stop();
}
const table = ["| op | size | through o3ml service (MiB/s) | direct SDK → MinIO (MiB/s) | ratio |", "|---|---|---|---|---|", ...rows].join("\n");
console.log(table);
await writeResults("object-throughput", { comparisons, markdown: table, quick });
