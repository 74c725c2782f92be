/**
 * Object put/get through the o3ml service (gRPC → chunk, hash, dedup check
 * → S3) beside @aws-sdk/client-s3 straight to the same endpoint, same bytes,
 * same sizes and concurrency, in one run. Each measured put carries bytes no
 * earlier put had (a stamp every 64 KiB), so dedup never helps the service;
 * both sides get identical bodies.
 *
 * Method: per cell (op, size, concurrency) one warm-up round and `repeats`
 * rounds; a round is `ops` operations at that concurrency, timed with
 * tinybench (per-operation p50/p99) and by its wall time (throughput). The
 * two sides alternate in order (o3ml first in even rounds, the SDK in odd
 * ones). Each round of gets reads the objects of the put round with the
 * same index; once read, both sides' objects are deleted, and after each
 * cell o3ml's gc frees what its deletions left unreachable (store-cleanup.ts),
 * so a run of 1 GiB objects fits on the disk.
 */
import { randomBytes } from "node:crypto";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { ServiceClient } from "@o3ml/client";
import { Bench } from "tinybench";
import { pieces } from "./object-checks.js";
import { measurement, type Measurement } from "./results.js";
import { deleteKeys, deleteO3mlKeys } from "./store-cleanup.js";
import type { TargetSession } from "./target-session.js";
import type { EndpointKind } from "./targets.js";

const MiB = 1024 * 1024;
const STAMP_EVERY = 64 * 1024;

export const SDK_PEER = "@aws-sdk/client-s3";

export interface ObjectBenchPlan {
  sizes: number[];
  /** Concurrency levels; a size runs at concurrency c only while size × c ≤ `maxInFlight` bytes (memory, time). */
  concurrency: number[];
  maxInFlight: number;
  /** Bytes moved per round and side; see opsPerRound. */
  bytesPerRepeat: number;
  repeats: number;
  warmup: number;
}

/** Enough operations to move `bytesPerRepeat`; at concurrency c at least 2c, so that c are really in flight. */
export function opsPerRound(size: number, concurrency: number, bytesPerRepeat: number): number {
  const ops = Math.max(1, Math.ceil(bytesPerRepeat / size));
  return concurrency === 1 ? ops : Math.max(ops, 2 * concurrency);
}

/** Forward in even rounds, reversed in odd ones: no side always runs first while the load drifts. */
export function inRoundOrder<T>(sides: T[], round: number): T[] {
  return round % 2 === 0 ? [...sides] : [...sides].reverse();
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

/** Runs `op` `ops` times, `concurrency` at once, with tinybench; per-op latency and whole-round throughput. */
async function timed(name: string, ops: number, concurrency: number, size: number, op: (i: number) => Promise<void>): Promise<{ mibps: number; p50: number; p99: number }> {
  let calls = 0;
  const bench = new Bench({
    name,
    iterations: ops,
    time: 0,
    warmup: false,
    throws: true,
    ...(concurrency > 1 ? { concurrency: "task" as const, threshold: concurrency } : {}),
  });
  // An async function: tinybench calls any other kind once more to find out whether it returns a promise.
  bench.add(name, async () => {
    await op(calls++ % ops);
  });
  const t0 = performance.now();
  await bench.run();
  const wall = (performance.now() - t0) / 1000;
  const r = bench.tasks[0]!.result;
  if (r.state !== "completed") throw new Error(`${name}: ${r.state}`);
  return { mibps: (calls * size) / MiB / wall, p50: r.latency.p50, p99: r.latency.p99 };
}

/** Runs the session's gc after a cell and logs what it freed; a failing gc is logged, never a result. */
export async function collectAfter(s: TargetSession, what: string, log: (m: string) => void): Promise<void> {
  try {
    const c = await s.collect();
    if (c) log(`${what}: gc freed ${c.blobs} blobs and ${c.manifests} manifests (${(c.bytes / MiB).toFixed(0)} MiB), ${c.refs} refs`);
  } catch (err) {
    log(`${what}: gc failed: ${(err as Error).message.replace(/\s+/g, " ")}`);
  }
}

export interface BenchFailure {
  who: string;
  what: string;
  reason: string;
}

/**
 * o3ml vs SDK, put then get, for every size and concurrency of the plan, on
 * one session. A side that fails a cell (the store refusing or collapsing
 * under load) is out of that cell with the whole error, and the other
 * cells still run.
 */
export async function benchObjects(
  s: TargetSession,
  client: ServiceClient,
  plan: ObjectBenchPlan,
  where: { label: string; endpoint: EndpointKind; workflow: string },
  log: (m: string) => void,
): Promise<{ measurements: Measurement[]; failures: BenchFailure[] }> {
  const { label } = where;
  const out: Measurement[] = [];
  const failures: BenchFailure[] = [];
  const Bucket = s.target.bucket;
  const base = `${s.prefix}/bench-${label.replace(/[^a-z0-9]+/gi, "-")}`;
  let serial = 0;
  const rounds = plan.warmup + plan.repeats;
  for (const size of plan.sizes) {
    const base0 = randomBytes(size);
    for (const concurrency of plan.concurrency.filter((c) => c === 1 || size * c <= plan.maxInFlight)) {
      const ops = opsPerRound(size, concurrency, plan.bytesPerRepeat);
      // One buffer per operation in flight (tinybench runs at most `concurrency` at once).
      const free = Array.from({ length: concurrency }, () => Buffer.from(base0));
      const withBody = async (send: (body: Buffer) => Promise<unknown>) => {
        const body = free.pop() ?? Buffer.from(base0);
        stamp(body, ++serial);
        try {
          await send(body);
        } finally {
          free.push(body);
        }
      };
      const cell = `${size / MiB} MiB, c=${concurrency}`;
      const key = (who: string, r: number, i: number) => `${base}/${who === SDK_PEER ? "sdk" : "svc"}-${size}-${concurrency}/r${r}/${i}`;
      const sides: Record<string, { put(r: number, i: number): Promise<void>; get(r: number, i: number): Promise<void>; forget(r: number): Promise<void> }> = {
        o3ml: {
          put: (r, i) => withBody((body) => client.put(key("o3ml", r, i), pieces(body), { size })),
          get: async (r, i) => {
            const { data } = await client.get(key("o3ml", r, i));
            const n = await drain(data);
            if (n !== size) throw new Error(`o3ml get of ${key("o3ml", r, i)}: ${n} bytes, ${size} were put`);
          },
          forget: (r) => deleteO3mlKeys(client, Array.from({ length: ops }, (_, i) => key("o3ml", r, i))),
        },
        [SDK_PEER]: {
          put: (r, i) => withBody((body) => s.s3.send(new PutObjectCommand({ Bucket, Key: key(SDK_PEER, r, i), Body: body }))),
          get: async (r, i) => {
            const res = await s.s3.send(new GetObjectCommand({ Bucket, Key: key(SDK_PEER, r, i) }));
            const n = await drain(res.Body as AsyncIterable<Uint8Array>);
            if (n !== size) throw new Error(`SDK get of ${key(SDK_PEER, r, i)}: ${n} bytes, ${size} were put`);
          },
          forget: (r) => deleteKeys(s.s3, Bucket, Array.from({ length: ops }, (_, i) => key(SDK_PEER, r, i))),
        },
      };
      const failed = new Set<string>();
      for (const op of ["put", "get"] as const) {
        const values: Record<string, { mibps: number[]; p50: number[]; p99: number[] }> = {};
        for (let r = 0; r < rounds; r++) {
          for (const who of inRoundOrder(Object.keys(sides), r)) {
            if (failed.has(who)) continue; // no objects to get after a failed put
            const side = sides[who]!;
            try {
              const f = await timed(`${who} ${op} ${cell}`, ops, concurrency, size, (i) => side[op](r, i));
              if (r >= plan.warmup) {
                const v = (values[who] ??= { mibps: [], p50: [], p99: [] });
                v.mibps.push(f.mibps);
                v.p50.push(f.p50);
                v.p99.push(f.p99);
              }
            } catch (err) {
              failed.add(who);
              const reason = `failed: ${(err as Error).message.replace(/\s+/g, " ")}`;
              failures.push({ who, what: `${op} ${cell} (${label})`, reason });
              if (op === "put") failures.push({ who, what: `get ${cell} (${label})`, reason: "not measured: the put of the same cell failed" });
              log(`${label} ${who} ${op} ${cell} ${reason}`);
            } finally {
              if (op === "get") await side.forget(r).catch((err: Error) => log(`${label} ${who}: clean-up of round ${r} failed: ${err.message}`));
            }
          }
        }
        for (const [who, v] of Object.entries(values)) {
          if (failed.has(who) || !v.mibps.length) continue;
          const metric = `${op} ${cell} (${label})`;
          const common = { who, workflow: where.workflow, target: label, endpoint: where.endpoint };
          out.push(
            measurement({ ...common, metric, unit: "MiB/s", higherIsBetter: true, primary: true }, v.mibps),
            measurement({ ...common, metric: `${metric} p50`, unit: "ms", higherIsBetter: false, primary: false }, v.p50),
            measurement({ ...common, metric: `${metric} p99`, unit: "ms", higherIsBetter: false, primary: false }, v.p99),
          );
          const m = out[out.length - 3]!;
          log(`${label} ${who.padEnd(18)} ${op} ${cell.padEnd(14)} ${m.median.toFixed(1).padStart(7)} MiB/s (IQR ${m.q1.toFixed(1)}–${m.q3.toFixed(1)}, ${m.repeats} repeats)`);
        }
      }
      // A side whose put failed never reached its get rounds: forget what it wrote.
      for (const who of failed) for (let r = 0; r < rounds; r++) await sides[who]!.forget(r).catch(() => undefined);
      // Between cells, nothing in flight: the next cell starts on a store holding only live data.
      await collectAfter(s, `${label} ${cell}`, log);
    }
  }
  return { measurements: out, failures };
}
