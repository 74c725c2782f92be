/**
 * Everything one target needs while the benchmark runs on it: an `o3ml serve`
 * process of its own (as users run it, so the service's CPU is not charged
 * to the benchmark), its O3ML_HOME, o3ml's BlobStore and a raw S3 client
 * with the O3 profile, all on the target's bucket. One run prefix keeps the
 * run's keys apart from anything else in a shared (remote) bucket.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { createBlobStore, createS3Client, type BlobStore, type O3Config } from "@o3ml/o3-client";
import { startServiceProcess } from "./service-process.js";
import { collectUnreachable, deletePrefix, type Collected } from "./store-cleanup.js";
import type { Target } from "./targets.js";

export interface TargetSession {
  target: Target;
  config: O3Config;
  /** gRPC address of this target's service. */
  service: string;
  /** The service's O3ML_HOME (its cache lives under cache/). */
  home: string;
  /** Environment that points the CLI and Python at this target's service. */
  env: NodeJS.ProcessEnv;
  store: BlobStore;
  s3: S3Client;
  /** Unique per run; every key the benchmark writes starts with it. */
  prefix: string;
  /**
   * o3ml's gc with no grace period, run between cells to free what the
   * cells deleted; undefined on a remote bucket, which others may write
   * (there o3ml's data stays until a gc with the usual grace).
   */
  collect(): Promise<Collected | undefined>;
  close(): Promise<void>;
}

export async function openSession(target: Target): Promise<TargetSession> {
  const config: O3Config = {
    endpoint: target.endpoint,
    region: target.region,
    accessKeyId: target.accessKeyId,
    secretAccessKey: target.secretAccessKey,
    bucket: target.bucket,
    profile: target.profile,
  };
  const home = mkdtempSync(join(tmpdir(), `o3ml-parity-${target.name}-`));
  const svc = await startServiceProcess({
    O3ML_HOME: home,
    O3ML_ENDPOINT: target.endpoint,
    O3ML_REGION: target.region,
    O3ML_ACCESS_KEY_ID: target.accessKeyId,
    O3ML_SECRET_ACCESS_KEY: target.secretAccessKey,
    O3ML_BUCKET: target.bucket,
    O3ML_LOG_LEVEL: "warn",
  });
  const store = createBlobStore(config, { probeCacheDir: false });
  const s3 = createS3Client(config);
  const env: NodeJS.ProcessEnv = { ...process.env, O3ML_SERVICE: svc.address, O3ML_HOME: home, O3ML_LOG_LEVEL: "warn" };
  delete env.O3ML_TOKEN;
  const prefix = `parity-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
  return {
    target,
    config,
    service: svc.address,
    home,
    env,
    store,
    s3,
    prefix,
    collect: async () => (target.local ? collectUnreachable(svc.address) : undefined),
    close: async () => {
      // A shared (remote) bucket keeps only o3ml's repository: the run's raw keys go.
      if (!target.local) await deletePrefix(s3, target.bucket, `${prefix}/`).catch(() => undefined);
      store.close();
      s3.destroy();
      await svc.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
