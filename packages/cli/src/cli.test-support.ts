import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CheckpointClient, MetadataClient, type EntryToSave } from "@o3ml/client";

/**
 * The `o3ml` command as installed: packages/o3ml/bin/o3ml.js over the built
 * dist/ (run `npx tsc -b tsconfig.build.json` first). That package composes
 * these commands with `o3ml serve`, which the tests start; it depends on this
 * one, so it is found by path rather than imported.
 */
export const BIN = fileURLToPath(new URL("../../o3ml/bin/o3ml.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a user with no O3 endpoint set (`serve` then keeps its data in `home`/store), plus `extra`. */
export function cleanEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(O3ML_|AWS_)/.test(k)) env[k] = v;
  return { ...env, O3ML_HOME: home, O3ML_LOG_LEVEL: "error", ...extra };
}

/** Runs `o3ml ...args` in a child process, as a user would, with exactly `env`. */
export function o3ml(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A running `o3ml serve`, as its `--json` ready line describes it. */
export interface Served {
  address: string;
  endpoint: string;
  bucket: string;
  /** Whether it serves the in-memory stand-in (--standin). */
  standin: boolean;
  /** The folder of the default local directory store, when it serves that. */
  localDir?: string;
  /** The port of /metrics, when started with --metrics. */
  metricsPort?: number;
  home: string;
  /** The environment of a client of this service: cleanEnv with O3ML_SERVICE set. */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** Sends `signal` to the service process. */
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the exit code once the process has ended (null when a signal ended it). */
  exited: Promise<number | null>;
  /** What it has written to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
  /** SIGKILL, then waits for the exit: the process ends where it is, as a crash or an OOM kill would end it. */
  crash(): Promise<void>;
}

/**
 * Starts `o3ml serve --listen 127.0.0.1:0 --chunk-size 1 --json ...args`
 * (the local directory store in O3ML_HOME unless `env` names an endpoint or
 * `args` has --standin; a new O3ML_HOME
 * unless `home` is given) and waits for its ready line.
 */
export async function startServe(args: string[] = [], env: Record<string, string> = {}, home = mkdtempSync(join(tmpdir(), "o3ml-cli-home-"))): Promise<Served> {
  const serve: ChildProcess = spawn(process.execPath, [BIN, "serve", "--listen", "127.0.0.1:0", "--chunk-size", "1", "--json", ...args], {
    env: cleanEnv(home, env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  serve.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<{ address: string; endpoint: string; bucket: string; standin: boolean; localDir?: string; metricsPort?: number }>((resolve, reject) => {
    serve.once("exit", (code) => reject(new Error(`o3ml serve exited with ${code}: ${stderr}`)));
    createInterface({ input: serve.stdout! }).once("line", (line) => resolve(JSON.parse(line)));
  });
  const exited = new Promise<number | null>((resolve) => serve.once("exit", (code) => resolve(code)));
  return {
    ...ready,
    home,
    env: (extra = {}) => cleanEnv(home, { O3ML_SERVICE: ready.address, ...extra }),
    kill: (signal) => {
      serve.kill(signal);
    },
    exited,
    stderr: () => stderr,
    async crash() {
      if (serve.exitCode !== null || serve.signalCode !== null) return;
      serve.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (serve.exitCode !== null || serve.signalCode !== null) return;
      const exited = new Promise((r) => serve.once("exit", r));
      serve.kill("SIGTERM");
      await exited;
    },
  };
}

/** What seedHistory made: the ids and names a user would type. */
export interface History {
  /** "digits@v1", pushed with `o3ml dataset push`. */
  dataset: string;
  datasetCid: string;
  baselineId: string;
  finetuneId: string;
  /** The baseline's checkpoints: step 10 (trained on the dataset) and step 20 (its child, which names no dataset). */
  checkpoints: { cid: string; key: string }[];
}

const entries = (): EntryToSave[] => [
  { name: "data.pkl", kind: "skeleton", data: randomBytes(200) },
  { name: "0", kind: "storage", dtype: "float32", data: randomBytes(32 * 1024) },
];

/**
 * A small training history in `s`: dataset digits@v1 (pushed through the
 * command), runs mnist-baseline and mnist-finetune (registered, the second
 * without checkpoints), and two chained checkpoints of mnist-baseline.
 */
export async function seedHistory(s: Served): Promise<History> {
  const dir = mkdtempSync(join(tmpdir(), "o3ml-digits-"));
  for (const label of ["0", "1"]) {
    mkdirSync(join(dir, label));
    for (let i = 0; i < 3; i++) writeFileSync(join(dir, label, `${i}.bin`), randomBytes(64));
  }
  const pushed = await o3ml(["dataset", "push", dir, "--name", "digits", "--version", "v1", "--json"], s.env());
  if (pushed.code !== 0) throw new Error(`o3ml dataset push: ${pushed.stderr}`);
  const datasetCid = (JSON.parse(pushed.stdout) as { cid: string }).cid;
  const meta = new MetadataClient(s.address);
  const ckpt = new CheckpointClient(s.address);
  try {
    const baseline = await meta.registerRun({ name: "mnist-baseline", hyperparameters: { lr: 0.001 } });
    const finetune = await meta.registerRun({ name: "mnist-finetune" });
    const checkpoints = [];
    for (const [step, loss] of [[10, 0.5], [20, 0.25]] as const) {
      const key = `runs/mnist-baseline/step=${step}.ckpt`;
      const info = await ckpt.save({ key, run: baseline.id, step, epoch: step / 10, metrics: { val_loss: loss }, datasetCid: step === 10 ? datasetCid : "" }, entries());
      checkpoints.push({ cid: info.cid, key });
    }
    return { dataset: "digits@v1", datasetCid, baselineId: baseline.id, finetuneId: finetune.id, checkpoints };
  } finally {
    meta.close();
    ckpt.close();
  }
}
