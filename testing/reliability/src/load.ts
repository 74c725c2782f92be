import { createHash } from "node:crypto";
import { cidOf } from "@o3ml/integrity";
import { DatasetClient, ServiceClient } from "@o3ml/client";
import type { Cluster } from "./cluster.js";
import { clearError } from "./outcome.js";
import { Seeded } from "./seeded.js";

/**
 * Load: `clients` concurrent clients, each on its own channel, mixing object
 * puts and gets (every get checked against the sha2-256 of what was put) with
 * dataset streaming (every shard re-hashed to its CID) against one service for
 * `seconds`. Records every operation's latency and the service's peak RSS.
 */
export interface LoadReport {
  clients: number;
  seconds: number;
  operations: Record<"put" | "get" | "shard" | "list", number>;
  errors: number;
  errorSamples: string[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  bytesMoved: number;
  servicePeakRssMiB: number;
}

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);

export async function runLoad(c: Cluster, opts: { seed: number; clients: number; seconds: number; dataset: string }): Promise<LoadReport> {
  const secrets = c.secrets();
  const probe = new DatasetClient(c.service.address, c.token);
  const { manifest } = await probe.resolve(opts.dataset);
  probe.close();
  const shards = (manifest.shards ?? []).map((s) => ({ cid: String(s.cid), size: Number(s.size) }));
  const latencies: number[] = [];
  const operations = { put: 0, get: 0, shard: 0, list: 0 };
  const errorSamples: string[] = [];
  let errors = 0;
  let bytesMoved = 0;
  const end = Date.now() + opts.seconds * 1000;

  const worker = async (w: number) => {
    const rnd = new Seeded(opts.seed * 1000 + w);
    const objects = new ServiceClient(c.service.address, c.token);
    const datasets = new DatasetClient(c.service.address, c.token);
    const mine: { key: string; sha: string }[] = [];
    let n = 0;
    try {
      while (Date.now() < end) {
        const roll = rnd.next();
        const kind: keyof typeof operations = mine.length === 0 || roll < 0.3 ? "put" : roll < 0.6 ? "get" : roll < 0.95 ? "shard" : "list";
        const t0 = performance.now();
        try {
          if (kind === "put") {
            const body = rnd.bytes(rnd.int(16, 1024) * 1024);
            const key = `reliability/load/w${w}/o${n++}`;
            await objects.put(
              key,
              (async function* () {
                yield body;
              })(),
              { size: body.length },
            );
            mine.push({ key, sha: createHash("sha256").update(body).digest("hex") });
            bytesMoved += body.length;
          } else if (kind === "get") {
            const o = rnd.pick(mine);
            const r = await objects.get(o.key);
            const h = createHash("sha256");
            for await (const part of r.data) (h.update(part), (bytesMoved += part.byteLength));
            if (h.digest("hex") !== o.sha) throw new Error(`get ${o.key}: bytes differ from what was put`);
          } else if (kind === "shard") {
            const s = rnd.pick(shards);
            const parts: Buffer[] = [];
            for await (const p of datasets.getBlob(s.cid)) parts.push(Buffer.from(p));
            const bytes = Buffer.concat(parts);
            if (cidOf(bytes) !== s.cid) throw new Error(`shard ${s.cid}: bytes do not hash to the CID`);
            bytesMoved += bytes.length;
          } else {
            await objects.list(`reliability/load/w${w}/`, 100, "");
          }
          operations[kind]++;
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(`${kind}: ${clearError(err, secrets).message}`);
        }
      }
    } finally {
      objects.close();
      datasets.close();
    }
  };

  await Promise.all(Array.from({ length: opts.clients }, (_, w) => worker(w)));
  c.service.sample();
  latencies.sort((a, b) => a - b);
  return {
    clients: opts.clients,
    seconds: opts.seconds,
    operations,
    errors,
    errorSamples,
    p50Ms: Math.round(quantile(latencies, 0.5)),
    p99Ms: Math.round(quantile(latencies, 0.99)),
    maxMs: Math.round(latencies[latencies.length - 1] ?? 0),
    bytesMoved,
    servicePeakRssMiB: Math.round(c.service.peakRss / 1048576),
  };
}
