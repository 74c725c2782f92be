/**
 * What a run measures and where it writes. `--quick` is the smoke run npm
 * test runs: small sizes, o3ml against the direct SDKs only
 * (@aws-sdk/client-s3, boto3 from .venv), 3 repeats. The full run adds large
 * objects, more concurrency, every Python peer (.venv-bench), checkpoints of
 * real shapes and a bigger dataset, 5 repeats per cell.
 *
 * Every cell, quick or full: one warm-up round, then `repeats` rounds with
 * o3ml and the peer alternating in order (median and IQR reported).
 *
 * Results: every run writes latest.* into benchmarks/results/tmp/ (ignored by
 * git). Only a full run with at least MIN_COMMITTED_REPEATS repeats and no
 * --out also writes benchmarks/results/full.*, the committed run that
 * docs/performance.md cites; tests and reduced runs never touch it.
 */
import { O3mlError } from "@o3ml/errors";
import type { ObjectBenchPlan } from "./object-bench.js";
import type { PythonPlan } from "./python-harness.js";

const MiB = 1024 * 1024;

export const MIN_COMMITTED_REPEATS = 5;
export const RESULTS_DIR = "benchmarks/results";
export const SCRATCH_DIR = "benchmarks/results/tmp";

export interface RunPlan {
  mode: "quick" | "full";
  /** Measured rounds per cell (after one warm-up round). */
  repeats: number;
  warmup: number;
  /** Object sizes/concurrency on each target, TypeScript side. */
  objects: ObjectBenchPlan;
  /** Python harness per target (its parity checks always run). */
  python: PythonPlan;
  dataset: { samples: number; sampleBytes: number; shardSize: string };
  /** The WAN phase: o3 target behind the emulated link. */
  wan: { latencyMs: number; bandwidthMiBps: number; objects: ObjectBenchPlan };
  configPath?: string;
  /** latest.* goes to `latestDir`; full.* to `committedDir` when set. Relative to the repository or absolute. */
  out: { latestDir: string; committedDir?: string; why: string };
  /** The command line, as the report shows it. */
  command: string;
}

/** Every side of a full run; "local-disk" reads the pulled tar shards from local files, the dataset epochs' reference. */
export const FULL_PEERS = ["o3ml", "boto3", "s3fs", "s3torchconnector", "litdata", "mosaicml-streaming", "local-disk"];
const OPTIONS = ["--quick", "--config", "--max-size-mib", "--max-checkpoint-mib", "--repeats", "--out"];

function valueOf(argv: string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const v = argv[at + 1];
  if (v === undefined || v.startsWith("--")) throw new O3mlError("INVALID_ARGUMENT", `${name} needs a value`);
  return v;
}

export function planFromArgs(argv: string[]): RunPlan {
  const quick = argv.includes("--quick");
  const configPath = valueOf(argv, "--config") ?? process.env.O3ML_BENCH_CONFIG;
  const maxMiB = Number(valueOf(argv, "--max-size-mib") ?? 1024);
  if (!(maxMiB >= 1)) throw new O3mlError("INVALID_ARGUMENT", "--max-size-mib needs a number of MiB, at least 1");
  // Checkpoints are only shrunk on request (a reduced run): the transformer-like one is 1.13 GiB.
  const ckptArg = valueOf(argv, "--max-checkpoint-mib");
  const checkpointCap = ckptArg === undefined ? null : Number(ckptArg);
  if (checkpointCap !== null && !(checkpointCap >= 1)) throw new O3mlError("INVALID_ARGUMENT", "--max-checkpoint-mib needs a number of MiB, at least 1");
  const repeats = Number(valueOf(argv, "--repeats") ?? (quick ? 3 : MIN_COMMITTED_REPEATS));
  if (!Number.isInteger(repeats) || repeats < 1) throw new O3mlError("INVALID_ARGUMENT", "--repeats needs a whole number, at least 1");
  const outDir = valueOf(argv, "--out");
  const unknown = argv.filter((a) => a.startsWith("--") && !OPTIONS.includes(a));
  if (unknown.length) throw new O3mlError("INVALID_ARGUMENT", `Unknown option ${unknown[0]}; use --quick, --config <targets.json>, --max-size-mib <n>, --max-checkpoint-mib <n>, --repeats <n>, --out <dir>`);
  const common = {
    repeats,
    warmup: 1,
    command: ["npm run bench", ...(argv.length ? ["--", ...argv] : [])].join(" "),
    ...(configPath ? { configPath } : {}),
  };
  const out = (full: boolean): RunPlan["out"] => {
    if (outDir) return { latestDir: outDir, why: "--out names the folder" };
    if (!full) return { latestDir: SCRATCH_DIR, why: "a quick run never replaces the committed full run" };
    if (repeats < MIN_COMMITTED_REPEATS) return { latestDir: SCRATCH_DIR, why: `fewer than ${MIN_COMMITTED_REPEATS} repeats: not a committed run` };
    return { latestDir: SCRATCH_DIR, committedDir: RESULTS_DIR, why: "a full run" };
  };
  if (quick) {
    return {
      mode: "quick",
      ...common,
      objects: { sizes: [1 * MiB], concurrency: [1, 4], maxInFlight: 4 * MiB, bytesPerRepeat: 2 * MiB, repeats, warmup: 1 },
      python: {
        peers: ["o3ml", "boto3"],
        objects: { sizes: [1 * MiB], concurrency: [1], bytesPerRound: 2 * MiB },
        // One small shape: the smoke run checks that every checkpoint path works, in seconds.
        checkpoints: { shapes: [{ kind: "uniform", tensors: 16, tensor_mib: 0.25 }], capMiB: checkpointCap, dedup: ["uniform"], async: ["uniform"] },
        epoch: true,
      },
      dataset: { samples: 32, sampleBytes: 64 * 1024, shardSize: "1MiB" },
      wan: { latencyMs: 20, bandwidthMiBps: 100, objects: { sizes: [1 * MiB], concurrency: [1], maxInFlight: 1 * MiB, bytesPerRepeat: 1 * MiB, repeats, warmup: 1 } },
      out: out(false),
    };
  }
  const sizes = [1, 16, 64, 256, 1024].filter((m) => m <= maxMiB).map((m) => m * MiB);
  return {
    mode: "full",
    ...common,
    objects: { sizes, concurrency: [1, 4, 16], maxInFlight: 64 * MiB, bytesPerRepeat: 32 * MiB, repeats, warmup: 1 },
    python: {
      peers: FULL_PEERS,
      objects: { sizes: [1 * MiB, 16 * MiB].filter((s) => s <= maxMiB * MiB), concurrency: [1, 4], bytesPerRound: 32 * MiB },
      checkpoints: {
        // The old single cell (16 x 8 MiB), a ResNet-50 with SGD momentum (~195 MiB, 481 tensors),
        // and a GPT-2-layout transformer of 1.13 GiB; each shrunk to --max-checkpoint-mib when larger.
        // Both real-model shapes are saved a second time unchanged: the re-save of the 1.13 GiB one
        // is the large-model case deduplication is for.
        shapes: [{ kind: "uniform", tensors: 16, tensor_mib: 8 }, { kind: "resnet50", width: 1 }, { kind: "transformer", layers: 20, hidden: 1024 }],
        capMiB: checkpointCap,
        dedup: ["resnet50", "transformer"],
        async: ["resnet50"],
      },
      epoch: true,
    },
    dataset: { samples: 512, sampleBytes: 256 * 1024, shardSize: "32MiB" },
    wan: {
      latencyMs: 40,
      bandwidthMiBps: 50,
      objects: { sizes: [1 * MiB, 16 * MiB].filter((s) => s <= maxMiB * MiB), concurrency: [1, 4], maxInFlight: 16 * MiB, bytesPerRepeat: 8 * MiB, repeats, warmup: 1 },
    },
    out: out(true),
  };
}
