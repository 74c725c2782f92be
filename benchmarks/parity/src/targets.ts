/**
 * The two named endpoints every parity row and benchmark runs on: `s3` and
 * `o3`. By default both are real servers started here on 127.0.0.1 — MinIO
 * as `s3`, and the O3-profile layer (Akave O3's documented deviations) in
 * front of a MinIO of its own as `o3` — so the same workflow meets plain S3
 * and S3 behaving like O3. The `o3` store is MinIO rather than moto because
 * moto holds every object in its process (memory or temp files) and slows
 * down as it grows: a 1.13 GiB checkpoint cell took more than 27 minutes
 * there. MinIO keeps the data on disk, and its single-drive mode versions
 * objects, which the layer switches on for every bucket, as O3 does. A config file or the
 * environment replaces either with a real endpoint (AWS S3, Akave O3); keys
 * are only ever read from the environment, never from the file. The run
 * starts one target at a time (startTarget) and stops it before the next, so
 * that one store's servers never compete with the other's measurements.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { O3mlError } from "@o3ml/errors";
import { minioBinary, startMinio, startO3Profile, type O3ProfileServer, type S3Server } from "@o3ml/standin";

export const TARGET_NAMES = ["s3", "o3"] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/**
 * What kind of endpoint a figure was measured on, recorded with every cell:
 * a server this run started on 127.0.0.1, a real remote endpoint, or the
 * local O3 profile reached through the emulated WAN link.
 */
export type EndpointKind = "local MinIO" | "local O3 profile over MinIO" | "local O3 profile via WAN relay" | "remote S3" | "remote O3";

/** One endpoint as the benchmark sees it. */
export interface Target {
  name: TargetName;
  /** What serves it, for the report: "MinIO on 127.0.0.1", "O3-profile layer over MinIO …", or the remote URL. */
  describe: string;
  kind: EndpointKind;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** Client settings: "o3" (Akave profile) or "s3" (plain AWS behaviour). */
  profile: "o3" | "s3";
  /** True when the bucket was made for this run on a server started here (safe to gc with no grace). */
  local: boolean;
  /** The O3-profile layer when this run started it (WAN emulation and request counts use it). */
  o3Profile?: O3ProfileServer;
  stop(): Promise<void>;
}

/** A remote endpoint as written in the config file (keys come from the named env variables). */
export interface RemoteTargetConfig {
  endpoint: string;
  region: string;
  bucket: string;
  profile?: "o3" | "s3";
  accessKeyIdEnv?: string;
  secretAccessKeyEnv?: string;
}

/**
 * Reads `{ "targets": { "s3": {...}, "o3": {...} } }` from `path` (when
 * given), then lets O3ML_BENCH_<NAME>_{ENDPOINT,REGION,BUCKET,PROFILE} from
 * the environment override it. Keys: the variables the file names, else
 * O3ML_BENCH_<NAME>_ACCESS_KEY_ID / _SECRET_ACCESS_KEY.
 */
export function remoteTargetConfigs(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Partial<Record<TargetName, RemoteTargetConfig>> {
  let fromFile: Partial<Record<TargetName, RemoteTargetConfig>> = {};
  if (path) {
    try {
      fromFile = (JSON.parse(readFileSync(path, "utf8")) as { targets?: typeof fromFile }).targets ?? {};
    } catch (err) {
      throw new O3mlError("INVALID_ARGUMENT", `The benchmark target file ${path} could not be read as JSON: ${(err as Error).message}`, { path }, { cause: err });
    }
  }
  const out: Partial<Record<TargetName, RemoteTargetConfig>> = {};
  for (const name of TARGET_NAMES) {
    const v = (k: string) => env[`O3ML_BENCH_${name.toUpperCase()}_${k}`];
    const merged = { ...fromFile[name] } as Partial<RemoteTargetConfig>;
    if (v("ENDPOINT")) merged.endpoint = v("ENDPOINT");
    if (v("REGION")) merged.region = v("REGION");
    if (v("BUCKET")) merged.bucket = v("BUCKET");
    if (v("PROFILE") === "s3" || v("PROFILE") === "o3") merged.profile = v("PROFILE") as "s3" | "o3";
    if (merged.endpoint === undefined) continue;
    if (!merged.bucket || !merged.region) {
      throw new O3mlError("INVALID_ARGUMENT", `Benchmark target ${name} names endpoint ${merged.endpoint} but no ${merged.bucket ? "region" : "bucket"}; set it in the file or O3ML_BENCH_${name.toUpperCase()}_${merged.bucket ? "REGION" : "BUCKET"}`, { target: name });
    }
    out[name] = merged as RemoteTargetConfig;
  }
  return out;
}

/** Starts (or connects to) one target: the remote endpoint `remote` names, else the local server. */
export async function startTarget(name: TargetName, remote: RemoteTargetConfig | undefined): Promise<Target> {
  if (remote) return remoteTarget(name, remote);
  return name === "s3" ? localS3() : localO3();
}

function remoteTarget(name: TargetName, c: RemoteTargetConfig, env: NodeJS.ProcessEnv = process.env): Target {
  const upper = name.toUpperCase();
  const idVar = c.accessKeyIdEnv ?? `O3ML_BENCH_${upper}_ACCESS_KEY_ID`;
  const secretVar = c.secretAccessKeyEnv ?? `O3ML_BENCH_${upper}_SECRET_ACCESS_KEY`;
  const accessKeyId = env[idVar];
  const secretAccessKey = env[secretVar];
  if (!accessKeyId || !secretAccessKey) {
    throw new O3mlError("UNAUTHENTICATED", `Benchmark target ${name} (${c.endpoint}) needs keys in ${idVar} and ${secretVar}`, { target: name });
  }
  const profile = c.profile ?? (/amazonaws\.com/.test(c.endpoint) ? "s3" : "o3");
  return {
    name,
    describe: c.endpoint,
    kind: profile === "o3" ? "remote O3" : "remote S3",
    endpoint: c.endpoint.replace(/\/+$/, ""),
    region: c.region,
    accessKeyId,
    secretAccessKey,
    bucket: c.bucket,
    profile,
    local: false,
    stop: async () => {},
  };
}

const runBucket = (name: string) => `o3ml-parity-${name}-${randomBytes(4).toString("hex")}`;

function fromServer(name: TargetName, server: S3Server, describe: string, kind: EndpointKind, stop: () => Promise<void>, o3Profile?: O3ProfileServer): Target {
  const t: Target = {
    name,
    describe,
    kind,
    endpoint: server.endpoint,
    region: server.region,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    bucket: runBucket(name),
    profile: "o3",
    local: true,
    stop,
  };
  if (o3Profile) t.o3Profile = o3Profile;
  return t;
}

async function localMinio(): Promise<S3Server> {
  const bin = minioBinary();
  if (!bin.path) throw new O3mlError("FAILED_PRECONDITION", `MinIO (the store of both local targets) is not available: ${bin.reason}. Run 'npm run setup', or name the s3 and o3 endpoints (see docs/performance.md).`);
  return startMinio({ binary: bin.path });
}

async function localS3(): Promise<Target> {
  const minio = await localMinio();
  return fromServer("s3", minio, "MinIO on 127.0.0.1", "local MinIO", () => minio.stop());
}

async function localO3(): Promise<Target> {
  const minio = await localMinio();
  let profile: O3ProfileServer;
  try {
    profile = await startO3Profile(minio);
  } catch (err) {
    await minio.stop();
    throw err;
  }
  return fromServer(
    "o3",
    profile,
    "O3-profile layer over MinIO (single drive, versioned) on 127.0.0.1",
    "local O3 profile over MinIO",
    async () => {
      await profile.stop();
      await minio.stop();
    },
    profile,
  );
}
