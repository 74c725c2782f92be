/**
 * Object put/get through the o3ml service (gRPC → chunk, hash, dedup check
 * → S3) beside @aws-sdk/client-s3 straight to the same endpoint, same bytes,
 * same sizes and concurrency, measured with tinybench in one run. Each
 * measured put carries bytes no earlier put had (a stamp every 64 KiB), so
 * dedup never helps the service; both sides get identical bodies.
 */
import { randomBytes } from "node:crypto";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { ServiceClient } from "@o3ml/storage-service";
import { Bench } from "tinybench";
import { pieces } from "./object-checks.js";
import type { Measurement } from "./results.js";
import type { TargetSession } from "./target-session.js";

const MiB = 1024 * 1024;
const STAMP_EVERY = 64 * 1024;

export const SDK_PEER = "@aws-sdk/client-s3";

export interface ObjectBenchPlan {
  sizes: number[];
  /** Concurrency levels; a size runs at concurrency c only while size × c ≤ `maxInFlight` bytes (memory, time). */
  concurrency: number[];
  maxInFlight: number;
  /** Bytes moved per (size, concurrency, side); at least `minOps` operations. */
  bytesPerCell: number;
  minOps: number;
}

/** Writes `n` into the buffer every 64 KiB, so every chunk of it is new to the store. */
function stamp(buf: Buffer, n: number): void {
  for (let off = 0; off + 16 <= buf.length; off += STAMP_EVERY) {
    buf.writeUInt32LE(n, off);
    buf.writeUInt32LE(off / STAMP_EVERY, off + 4);
  }
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const b of body) n += b.byteLength;
  return n;
}

/** Runs `op` `ops` times, `concurrency` at once, with tinybench; per-op latency and whole-run throughput. */
async function timed(name: string, ops: number, concurrency: number, size: number, op: (i: number) => Promise<void>): Promise<{ mibps: number; p50: number; p99: number }> {
  let i = 0;
  const bench = new Bench({
    name,
    iterations: ops,
    time: 0,
    warmup: false,
    throws: true,
    ...(concurrency > 1 ? { concurrency: "task" as const, threshold: concurrency } : {}),
  });
  bench.add(name, () => op(i++));
  const t0 = performance.now();
  await bench.run();
  const wall = (performance.now() - t0) / 1000;
  const r = bench.tasks[0]!.result;
  if (r.state !== "completed") throw new Error(`${name}: ${r.state}`);
  return { mibps: (i * size) / MiB / wall, p50: r.latency.p50, p99: r.latency.p99 };
}

/** o3ml vs SDK, put then get, for every size and concurrency of the plan, on one session. */
export interface BenchFailure {
  who: string;
  what: string;
  reason: string;
}

/**
 * A cell that fails (the store refusing or collapsing under load) is
 * returned as a failure with its reason, and the other cells still run.
 */
export async function benchObjects(s: TargetSession, client: ServiceClient, plan: ObjectBenchPlan, label: string, log: (m: string) => void): Promise<{ measurements: Measurement[]; failures: BenchFailure[] }> {
  const out: Measurement[] = [];
  const failures: BenchFailure[] = [];
  const Bucket = s.target.bucket;
  const base = `${s.prefix}/bench-${label}`;
  let serial = 0;
  for (const size of plan.sizes) {
    const base0 = randomBytes(size);
    for (const concurrency of plan.concurrency.filter((c) => c === 1 || size * c <= plan.maxInFlight)) {
      const ops = Math.max(plan.minOps, Math.ceil(plan.bytesPerCell / size), concurrency * 2);
      // One buffer per operation in flight (tinybench runs at most `concurrency` at once).
      const free = Array.from({ length: concurrency }, () => Buffer.from(base0));
      const withBody = async (send: (body: Buffer) => Promise<unknown>) => {
        // tinybench may call the function once more than `concurrency` (it probes whether it is async).
        const body = free.pop() ?? Buffer.from(base0);
        stamp(body, ++serial);
        try {
          await send(body);
        } finally {
          free.push(body);
        }
      };
      const cell = `${size / MiB} MiB, c=${concurrency}`;
      const sides = {
        o3ml: {
          put: (i: number) => withBody((body) => client.put(`${base}/svc-${size}-${concurrency}-${i}`, pieces(body), { size })),
          get: async (i: number) => {
            const { data } = await client.get(`${base}/svc-${size}-${concurrency}-${i % ops}`);
            if ((await drain(data)) !== size) throw new Error("o3ml get: short read");
          },
        },
        [SDK_PEER]: {
          put: (i: number) => withBody((body) => s.s3.send(new PutObjectCommand({ Bucket, Key: `${base}/sdk-${size}-${concurrency}-${i}`, Body: body }))),
          get: async (i: number) => {
            const res = await s.s3.send(new GetObjectCommand({ Bucket, Key: `${base}/sdk-${size}-${concurrency}-${i % ops}` }));
            if ((await drain(res.Body as AsyncIterable<Uint8Array>)) !== size) throw new Error("SDK get: short read");
          },
        },
      };
      const failed = new Set<string>();
      for (const op of ["put", "get"] as const) {
        for (const [who, side] of Object.entries(sides)) {
          if (failed.has(who)) continue; // no objects to get after a failed put
          let r: Awaited<ReturnType<typeof timed>>;
          try {
            r = await timed(`${who} ${op} ${cell}`, ops, concurrency, size, side[op]);
          } catch (err) {
            failed.add(who);
            const reason = `failed: ${(err as Error).message.split("\n")[0]!.slice(0, 300)}`;
            failures.push({ who, what: `${op} ${cell} (${label})`, reason });
            log(`${label} ${who} ${op} ${cell} ${reason}`);
            continue;
          }
          const metric = `${op} ${cell} (${label})`;
          out.push(
            { who, metric, unit: "MiB/s", higherIsBetter: true, value: r.mibps },
            { who, metric: `${metric} p50`, unit: "ms", higherIsBetter: false, value: r.p50 },
            { who, metric: `${metric} p99`, unit: "ms", higherIsBetter: false, value: r.p99 },
          );
          log(`${label} ${who.padEnd(18)} ${op} ${cell.padEnd(14)} ${r.mibps.toFixed(1).padStart(7)} MiB/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms`);
        }
      }
    }
  }
  return { measurements: out, failures };
}
