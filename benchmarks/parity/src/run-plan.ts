/**
 * What a run measures. `--quick` is the CI smoke run: small sizes, o3ml
 * against the direct SDKs only (@aws-sdk/client-s3, boto3 from .venv), well
 * under three minutes on a loaded 2-core host. The full run adds large
 * objects, more concurrency, every Python peer (.venv-bench) and a bigger
 * dataset and checkpoint.
 */
import { O3mlError } from "@o3ml/errors";
import type { ObjectBenchPlan } from "./object-bench.js";
import type { PythonPlan } from "./python-harness.js";

const MiB = 1024 * 1024;

export interface RunPlan {
  mode: "quick" | "full";
  /** Object sizes/concurrency on each target, TypeScript side. */
  objects: ObjectBenchPlan;
  /** Python harness per target (its parity checks always run). */
  python: Omit<PythonPlan, "parity">;
  dataset: { samples: number; sampleBytes: number; shardSize: string };
  /** The WAN phase: o3 target behind the emulated link. */
  wan: { latencyMs: number; bandwidthMiBps: number; objects: ObjectBenchPlan };
  configPath?: string;
}

export const FULL_PEERS = ["o3ml", "boto3", "s3fs", "s3torchconnector", "litdata", "mosaicml-streaming"];

export function planFromArgs(argv: string[]): RunPlan {
  const quick = argv.includes("--quick");
  const at = argv.indexOf("--config");
  const configPath = at >= 0 ? argv[at + 1] : process.env.O3ML_BENCH_CONFIG;
  const maxAt = argv.indexOf("--max-size-mib");
  const maxMiB = maxAt >= 0 ? Number(argv[maxAt + 1]) : 1024;
  if (!(maxMiB >= 1)) throw new O3mlError("INVALID_ARGUMENT", "--max-size-mib needs a number of MiB, at least 1");
  const unknown = argv.filter((a) => a.startsWith("--") && !["--quick", "--config", "--max-size-mib"].includes(a));
  if (unknown.length) throw new O3mlError("INVALID_ARGUMENT", `Unknown option ${unknown[0]}; use --quick, --config <targets.json>, --max-size-mib <n>`);
  if (quick) {
    return {
      mode: "quick",
      objects: { sizes: [1 * MiB, 4 * MiB], concurrency: [1, 4], maxInFlight: 4 * MiB, bytesPerCell: 4 * MiB, minOps: 4 },
      python: { peers: ["o3ml", "boto3"], objectSizes: [1 * MiB], objectBytes: 4 * MiB, concurrency: [1, 4], checkpointMiB: 8, epoch: true },
      dataset: { samples: 32, sampleBytes: 64 * 1024, shardSize: "1MiB" },
      wan: { latencyMs: 20, bandwidthMiBps: 100, objects: { sizes: [1 * MiB], concurrency: [1], maxInFlight: 1 * MiB, bytesPerCell: 4 * MiB, minOps: 4 } },
      ...(configPath ? { configPath } : {}),
    };
  }
  const sizes = [1, 16, 64, 256, 1024].filter((m) => m <= maxMiB).map((m) => m * MiB);
  return {
    mode: "full",
    objects: { sizes, concurrency: [1, 4, 16], maxInFlight: 64 * MiB, bytesPerCell: 64 * MiB, minOps: 2 },
    python: { peers: FULL_PEERS, objectSizes: [1 * MiB, 16 * MiB], objectBytes: 32 * MiB, concurrency: [1, 4], checkpointMiB: 128, epoch: true },
    dataset: { samples: 512, sampleBytes: 256 * 1024, shardSize: "32MiB" },
    wan: { latencyMs: 40, bandwidthMiBps: 50, objects: { sizes: [1 * MiB, 16 * MiB], concurrency: [1, 4], maxInFlight: 16 * MiB, bytesPerCell: 16 * MiB, minOps: 4 } },
    ...(configPath ? { configPath } : {}),
  };
}
