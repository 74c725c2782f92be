// Put/get throughput of the default local directory store against the
// in-memory stand-in (moto behind the O3-profile layer), through the BlobStore
// interface both are used by (packages/o3-client/src/blob-store.ts). Prints one
// line per store and size; no assertions, figures depend on the machine.
//
//   npx tsx benchmarks/local-store/throughput.ts [MiB per object=16] [objects=8]
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createBlobStore, type BlobStore, type O3Config } from "@o3ml/o3-client";
import { startStandin } from "@o3ml/standin";

const mib = Number(process.argv[2] ?? 16);
const count = Number(process.argv[3] ?? 8);

async function measure(name: string, store: BlobStore): Promise<void> {
  await store.ensureBucket({ create: true });
  for (const size of [64 * 1024, mib * 1024 * 1024]) {
    const body = new Uint8Array(randomBytes(size));
    const n = size < 1024 * 1024 ? count * 16 : count;
    let t = performance.now();
    for (let i = 0; i < n; i++) await store.put(`bench/${size}/${i}`, body);
    const put = (n * size) / 1048576 / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < n; i++) await store.get(`bench/${size}/${i}`);
    const get = (n * size) / 1048576 / ((performance.now() - t) / 1000);
    console.log(`${name.padEnd(16)} ${String(n).padStart(4)} × ${(size / 1024).toFixed(0).padStart(6)} KiB  put ${put.toFixed(1).padStart(7)} MiB/s  get ${get.toFixed(1).padStart(7)} MiB/s`);
  }
  store.close();
}

const base: O3Config = { region: "akave-network", bucket: "o3ml-bench", profile: "o3" };
const dir = mkdtempSync(join(tmpdir(), "o3ml-bench-local-"));
try {
  await measure("local directory", createBlobStore({ ...base, endpoint: pathToFileURL(dir).href }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const standin = await startStandin();
try {
  const config = { ...base, endpoint: standin.endpoint, accessKeyId: standin.accessKeyId, secretAccessKey: standin.secretAccessKey, region: standin.region };
  await measure("stand-in", createBlobStore(config, { probeCacheDir: false }));
} finally {
  await standin.stop();
}
