import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CheckpointClient, type EntryToSave, MetadataClient } from "@o3ml/client";
import { cidOf } from "@o3ml/integrity";
import { newEventId } from "@o3ml/repository";
import type { O3Config } from "@o3ml/o3-client";
import type { S3Server } from "@o3ml/standin";
import { startService, type RunningService } from "../server.js";

/** The built `o3ml` command (run `npx tsc -b tsconfig.build.json` first). */
export const CLI = fileURLToPath(new URL("../../../../packages/o3ml/bin/o3ml.js", import.meta.url));

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `o3ml` command as a user would, in a child process (asynchronously:
 * the service under test answers from this very process). The environment is
 * only what is given, plus PATH and HOME: nothing leaks in from the shell.
 */
export async function o3ml(args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", O3ML_LOG_LEVEL: "error", ...env },
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), "o3ml-home-"));
}

export function configFor(s3: S3Server, bucket: string): O3Config {
  return { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket, profile: "o3" };
}

/** The environment with which `o3ml index rebuild --offline` reads the same bucket. */
export function storeEnv(s3: S3Server, bucket: string): Record<string, string> {
  return { O3ML_ENDPOINT: s3.endpoint, O3ML_REGION: s3.region, O3ML_ACCESS_KEY_ID: s3.accessKeyId, O3ML_SECRET_ACCESS_KEY: s3.secretAccessKey, O3ML_BUCKET: bucket };
}

/** A service over `config` whose index lives in `home` (SQLite) or at `databaseUrl` (PostgreSQL). */
export async function serviceAt(config: O3Config, home: string, databaseUrl?: string): Promise<RunningService> {
  const saved = { home: process.env.O3ML_HOME, url: process.env.O3ML_DATABASE_URL };
  process.env.O3ML_HOME = home;
  if (databaseUrl) process.env.O3ML_DATABASE_URL = databaseUrl;
  else delete process.env.O3ML_DATABASE_URL;
  try {
    return await startService({ listen: "127.0.0.1:0", createBucket: true, chunkSize: 1024 * 1024 }, { config });
  } finally {
    process.env.O3ML_HOME = saved.home;
    if (saved.url === undefined) delete process.env.O3ML_DATABASE_URL;
    else process.env.O3ML_DATABASE_URL = saved.url;
  }
}

const entries = (): EntryToSave[] => [
  { name: "data.pkl", kind: "skeleton", data: randomBytes(400) },
  { name: "0", kind: "storage", dtype: "float32", data: randomBytes(64 * 1024) },
];

export interface Seeded {
  datasetCid: string;
  runId: string;
  finetuneId: string;
  checkpoints: string[];
  artifactId: string;
}

/**
 * A small training history through the real service: a dataset version, a
 * run with two chained checkpoints, a fine-tuning run resumed from the
 * second, and an artifact exported from the fine-tuned checkpoint.
 */
export async function seedTraining(svc: RunningService, tag = ""): Promise<Seeded> {
  const meta = new MetadataClient(svc.address);
  const ckpt = new CheckpointClient(svc.address);
  try {
    const datasetCid = cidOf(randomBytes(32));
    await svc.metadata.record("dataset.version.created", { dataset: `mnist${tag}`, version: newEventId(), manifestCid: datasetCid, samples: 60000, bytes: 47_040_016 });
    const run = await meta.registerRun({
      name: `mnist-baseline${tag}`,
      hyperparameters: { lr: 0.001, layers: [64, 32], optimizer: "adam" },
      codeCommit: "3f2c1e9a7b6d5c4e3f2a1b0c9d8e7f6a5b4c3d2e",
      codeDirty: true,
      packages: { torch: "2.13.0", lightning: "2.6.6", python: "3.11.2" },
      host: "trainer-1",
    });
    const save = (runId: string, step: number, parentCid = "") =>
      ckpt.save({ key: `runs/${runId}/step=${step}.ckpt`, run: runId, step, epoch: step / 10, metrics: { loss: 1 / (step + 1) }, datasetCid, parentCid }, entries());
    const c1 = await save(run.id, 10);
    const c2 = await save(run.id, 20);
    const finetune = await meta.registerRun({ name: `mnist-finetune${tag}`, hyperparameters: { lr: 0.0001 }, codeCommit: null, codeDirty: null, host: null });
    const c3 = await save(finetune.id, 30, c2.cid);
    const artifact = await meta.recordArtifact({ run: finetune.id, name: "model.onnx", cid: cidOf(randomBytes(16)), bytes: 16, mediaType: "application/onnx", checkpointId: c3.cid });
    return { datasetCid, runId: run.id, finetuneId: finetune.id, checkpoints: [c1.cid, c2.cid, c3.cid], artifactId: artifact.id };
  } finally {
    meta.close();
    ckpt.close();
  }
}
