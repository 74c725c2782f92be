/**
 * Runs the Python harness (benchmarks/parity/python/harness.py) for one
 * target: the Python parity checks and the training-path measurements of
 * o3ml and the peers. The interpreter is .venv's for the quick run (o3ml and
 * boto3 only) and .venv-bench's for the full run (every peer installed).
 */
import { execFile, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { O3mlError } from "@o3ml/errors";
import type { DatasetFixture } from "./dataset-fixture.js";
import type { ParityCell } from "./parity-matrix.js";
import type { Measurement } from "./results.js";
import type { TargetSession } from "./target-session.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const harness = join(here, "..", "python", "harness.py");
export const repoRoot = join(here, "..", "..", "..");

export interface PythonPlan {
  parity: boolean;
  peers: string[];
  objectSizes: number[];
  objectBytes: number;
  concurrency: number[];
  checkpointMiB: number;
  epoch: boolean;
}

export interface PythonOutcome {
  parity: Array<{ workflow: string; about: string; cell: ParityCell }>;
  results: Measurement[];
  unavailable: Array<{ peer: string; what: string; reason: string }>;
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

/**
 * The harness process, started before it is needed so that its imports
 * (torch, Lightning: 10 s and more on a loaded host) overlap the other
 * checks. `run` writes the plan and lets it go; `cancel` ends it unused.
 */
export interface PythonHarness {
  run(sessions: TargetSession[], data: DatasetFixture, specOf: (s: TargetSession) => string, plan: PythonPlan): Promise<Record<string, PythonOutcome>>;
  cancel(): void;
}

export function startPythonHarness(python: string, log: (m: string) => void): PythonHarness {
  const dir = mkdtempSync(join(tmpdir(), "o3ml-parity-py-"));
  const planPath = join(dir, "plan.json");
  const outPath = join(dir, "out.json");
  const env: NodeJS.ProcessEnv = { ...process.env, O3ML_LOG_LEVEL: "warn", PYTHONUNBUFFERED: "1" };
  delete env.O3ML_TOKEN;
  let child: ChildProcess | undefined;
  const exited = new Promise<string>((resolve, reject) => {
    child = execFile(python, [harness, planPath, outPath], { env, maxBuffer: 256 * 1024 * 1024, timeout: 90 * 60_000 }, (err, _stdout, stderr) => {
      if (err) reject(new O3mlError("INTERNAL", `the Python harness failed (${(err as { code?: unknown }).code}): ${stderr.trim().split("\n").slice(-6).join(" | ")}`));
      else resolve(stderr);
    });
    child.stderr?.on("data", (b: Buffer) => {
      for (const line of b.toString().split("\n")) if (line.startsWith("[harness]")) log(line);
    });
  });
  exited.catch(() => undefined); // observed by run(); a cancelled harness is not an error
  const onExit = () => child?.kill("SIGKILL");
  process.once("exit", onExit);
  void exited.finally(() => process.removeListener("exit", onExit)).catch(() => undefined);
  return {
    cancel: () => {
      child?.stdin?.end();
      rmSync(dir, { recursive: true, force: true });
    },
    run: async (sessions, data, specOf, plan) => {
      writeFileSync(
        planPath,
        JSON.stringify({
          ...plan,
          fixture: { dir: data.dir, samples: data.samples, sampleBytes: data.sampleBytes },
          targets: sessions.map((s) => ({
            name: s.target.name,
            spec: specOf(s),
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
          })),
        }),
      );
      try {
        child?.stdin?.end("go\n");
        const stderr = await exited;
        if (!existsSync(outPath)) throw new O3mlError("INTERNAL", `the Python harness wrote no result: ${stderr.slice(-500)}`);
        type Raw = { parity: PythonOutcome["parity"]; results: Array<Omit<Measurement, "who"> & { peer: string }>; unavailable: PythonOutcome["unavailable"] };
        const out = JSON.parse(readFileSync(outPath, "utf8")) as Record<string, Raw>;
        return Object.fromEntries(
          Object.entries(out).map(([name, r]) => [name, { parity: r.parity, unavailable: r.unavailable, results: r.results.map(({ peer, ...m }) => ({ ...m, who: peer })) }]),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
