/**
 * Drives the Python harness (benchmarks/parity/python/harness.py): one
 * process for the whole run, started before it is needed so that its
 * imports (torch, Lightning: 10 s and more on a loaded host) overlap the
 * first target's start. It answers one JSON command per line: the Python
 * parity checks of a target, then the training-path measurements of o3ml and
 * the peers on it. The interpreter is .venv's for the quick run (o3ml and
 * boto3 only) and .venv-bench's for the full run (every peer installed).
 * Everything the harness and its libraries print goes to a log file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { O3mlError } from "@o3ml/errors";
import type { DatasetFixture } from "./dataset-fixture.js";
import type { ParityCell } from "./parity-matrix.js";
import type { TargetSession } from "./target-session.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const harness = join(here, "..", "python", "harness.py");
export const repoRoot = join(here, "..", "..", "..");

export interface PythonPlan {
  peers: string[];
  objects?: { sizes: number[]; concurrency: number[]; bytesPerRound: number };
  /** Shapes as model_shapes.Shape fields; `capMiB` null keeps every shape at its size. */
  checkpoints?: { shapes: Array<Record<string, string | number>>; capMiB: number | null; dedup: string[]; async: string[] };
  epoch: boolean;
}

/** One Python figure: every repeat's value, unsummarised. */
export interface PythonFigure {
  peer: string;
  workflow: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  primary: boolean;
  values: number[];
  note?: string;
}

export interface PythonMissing {
  peer: string;
  workflow: string;
  what: string;
  reason: string;
  kind: "failed" | "not offered";
}

export interface PythonParityRow {
  workflow: string;
  about: string;
  cell: ParityCell;
}

/** The interpreter: $O3ML_BENCH_PYTHON, else .venv-bench (full) or .venv (quick). */
export function pythonFor(full: boolean): string {
  if (process.env.O3ML_BENCH_PYTHON) return process.env.O3ML_BENCH_PYTHON;
  const venv = join(repoRoot, full ? ".venv-bench" : ".venv", "bin", "python");
  if (!existsSync(venv)) {
    throw new O3mlError("FAILED_PRECONDITION", `${venv} is missing: run ${full ? "bash benchmarks/parity/setup-peers.sh" : "npm run setup"} first (npm run bench does it)`);
  }
  return venv;
}

export interface PythonHarness {
  parity(s: TargetSession, data: DatasetFixture, spec: string): Promise<PythonParityRow[]>;
  measure(s: TargetSession, data: DatasetFixture, spec: string, shardsDir: string | undefined, plan: PythonPlan & { repeats: number; warmup: number }): Promise<{ results: PythonFigure[]; unavailable: PythonMissing[] }>;
  /** Ends the process and waits for it (its CPU time then counts as this run's). */
  close(): Promise<void>;
}

function targetPayload(s: TargetSession, data: DatasetFixture, spec: string) {
  return {
    name: s.target.name,
    spec,
    local: s.target.local,
    fixture: { dir: data.dir, samples: data.samples, sampleBytes: data.sampleBytes },
    endpoint: {
      endpoint: s.target.endpoint,
      region: s.target.region,
      access_key: s.target.accessKeyId,
      secret_key: s.target.secretAccessKey,
      bucket: s.target.bucket,
      prefix: s.prefix,
      service: s.service,
      service_home: s.home,
    },
  };
}

export function startPythonHarness(python: string, log: (m: string) => void, logFile: string): PythonHarness {
  mkdirSync(dirname(logFile), { recursive: true });
  const logStream = createWriteStream(logFile);
  const env: NodeJS.ProcessEnv = { ...process.env, O3ML_LOG_LEVEL: "warn", PYTHONUNBUFFERED: "1" };
  delete env.O3ML_TOKEN;
  const child: ChildProcess = spawn(python, [harness], { env, stdio: ["pipe", "pipe", "pipe"] });
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  let tail: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => {
    logStream.write(line + "\n");
    tail = [...tail.slice(-40), line];
    if (line.startsWith("[harness]")) log(line);
  });
  const answers: Array<(line: string | Error) => void> = [];
  createInterface({ input: child.stdout! }).on("line", (line) => answers.shift()?.(line));
  const exited = new Promise<number | string | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", (err) => resolve(err.message)); // could not start at all
  });
  let dead: O3mlError | undefined;
  void exited.then((code) => {
    process.removeListener("exit", onExit);
    dead = new O3mlError("INTERNAL", `the Python harness exited (${code}): ${tail.slice(-8).join(" | ")} (whole log: ${logFile})`);
    for (const waiting of answers.splice(0)) waiting(dead);
  });
  child.stdin!.on("error", () => undefined); // a harness that died is reported through `exited`

  const ask = async <T>(command: unknown): Promise<T> => {
    if (dead) throw dead;
    const line = await new Promise<string | Error>((resolve) => {
      answers.push(resolve);
      child.stdin!.write(JSON.stringify(command) + "\n");
    });
    if (line instanceof Error) throw line;
    const answer = JSON.parse(line) as T & { error?: string };
    if (answer.error !== undefined) throw new O3mlError("INTERNAL", `the Python harness failed: ${answer.error} (log: ${logFile})`);
    return answer;
  };

  return {
    parity: async (s, data, spec) => (await ask<{ parity: PythonParityRow[] }>({ cmd: "parity", target: targetPayload(s, data, spec) })).parity,
    measure: (s, data, spec, shardsDir, plan) =>
      ask({ cmd: "measure", target: { ...targetPayload(s, data, spec), ...(shardsDir ? { shardsDir } : {}) }, plan }),
    close: async () => {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
      await new Promise<void>((resolve) => logStream.end(resolve));
    },
  };
}
