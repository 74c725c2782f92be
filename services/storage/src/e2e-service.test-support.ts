import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { O3Config } from "@o3ml/o3-client";
import { startMoto, type S3Server } from "@o3ml/standin";
import type { Logger } from "./logger.js";
import { startService, type RunningService } from "./server.js";
import type { ServiceOptions } from "./service-options.js";

/** A storage service on loopback over a real S3 server, with its own O3ML_HOME and bucket. */
export interface E2eService {
  s3: S3Server;
  svc: RunningService;
  home: string;
  stop(): Promise<void>;
}

/**
 * Starts `s3` (moto by default) and a service in front of it. Sets
 * O3ML_HOME to a fresh temporary folder for the index and probe cache.
 */
export async function startE2eService(opts: { s3?: () => Promise<S3Server>; service?: Partial<ServiceOptions>; bucket?: string; log?: Logger } = {}): Promise<E2eService> {
  const s3 = await (opts.s3 ?? (() => startMoto()))();
  const home = mkdtempSync(join(tmpdir(), "o3ml-home-"));
  process.env.O3ML_HOME = home;
  const bucket = opts.bucket ?? `o3ml-e2e-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const config: O3Config = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket, profile: "o3" };
  let svc: RunningService;
  try {
    svc = await startService({ listen: "127.0.0.1:0", createBucket: true, chunkSize: 1024 * 1024, ...opts.service }, { config, log: opts.log });
  } catch (err) {
    await s3.stop();
    throw err;
  }
  return {
    s3,
    svc,
    home,
    async stop() {
      await svc.stop();
      await s3.stop();
    },
  };
}

/** A second service over the same bucket as `e`, with a home (index, cache) of its own, as on another host: it has read nothing yet. */
export async function startPeerService(e: E2eService, service: Partial<ServiceOptions> = {}): Promise<RunningService> {
  const config: O3Config = { endpoint: e.s3.endpoint, region: e.s3.region, accessKeyId: e.s3.accessKeyId, secretAccessKey: e.s3.secretAccessKey, bucket: e.svc.store.bucket, profile: "o3" };
  // startService reads O3ML_HOME once, while it starts.
  process.env.O3ML_HOME = mkdtempSync(join(tmpdir(), "o3ml-home-peer-"));
  try {
    return await startService({ listen: "127.0.0.1:0", ...service }, { config });
  } finally {
    process.env.O3ML_HOME = e.home;
  }
}

/** One stream of the given byte arrays, as a put takes it. */
export async function* streamOf(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

/** Every byte of a stream, joined. */
export async function drain(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}
