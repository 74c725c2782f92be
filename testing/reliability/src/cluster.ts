import { spawn, type ChildProcess } from "node:child_process";
import { tracked } from "./children.js";
import { randomBytes } from "node:crypto";
import { appendFileSync, createWriteStream, mkdirSync, readFileSync, type WriteStream } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { createBlobStore, type BlobStore } from "@o3ml/o3-client";
import { freePort, minioBinary, startO3Profile, type O3ProfileServer, type S3Server } from "@o3ml/standin";
import { within } from "./deadline.js";

/**
 * The system under test of the reliability suite, as separate processes so
 * that any of them can be SIGKILLed: MinIO (data on disk, so it can be
 * restarted mid-run), the O3-profile layer in this process (O3's deviations
 * plus injected faults), and `o3ml serve` as a child on a fixed loopback port
 * (so clients reconnect after a restart), with a bearer token. Every log line
 * of every o3ml process lands under `logDir`, where the secrets scan reads it.
 */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const CLI = join(REPO_ROOT, "packages/o3ml/bin/o3ml.js");
export const PYTHON = join(REPO_ROOT, ".venv/bin/python");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** MinIO on a fixed port and data folder: restartable without losing data. */
export class MinioProcess {
  private proc?: ChildProcess;
  private log?: WriteStream;
  readonly endpoint: string;
  starts = 0;

  constructor(
    readonly port: number,
    readonly dataDir: string,
    readonly accessKeyId: string,
    readonly secretAccessKey: string,
    private readonly logDir: string,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const bin = minioBinary();
    if (!bin.path) throw new Error(`MinIO is not available: ${bin.reason}`);
    // MinIO's own log is kept apart: it is not o3ml's output, and it is not scanned for o3ml's secrets.
    this.log = createWriteStream(join(this.logDir, "minio.external.log"), { flags: "a" });
    const console = await freePort();
    this.proc = tracked(spawn(bin.path, ["server", this.dataDir, "--address", `127.0.0.1:${this.port}`, "--console-address", `127.0.0.1:${console}`, "--quiet"], {
      env: { ...process.env, MINIO_ROOT_USER: this.accessKeyId, MINIO_ROOT_PASSWORD: this.secretAccessKey, MINIO_REGION: "akave-network", MINIO_BROWSER: "off", MINIO_UPDATE: "off", MINIO_CI_CD: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    }));
    this.proc.stdout!.pipe(this.log, { end: false });
    this.proc.stderr!.pipe(this.log, { end: false });
    this.starts++;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`MinIO exited with ${this.proc.exitCode}; see ${this.logDir}/minio.external.log`);
      // Ready can come before the object layer: S3 requests then get 503 XMinioServerNotInitialized.
      const ok =
        (await fetch(`${this.endpoint}/minio/health/ready`).then((r) => r.ok, () => false)) &&
        (await fetch(`${this.endpoint}/`).then((r) => r.status !== 503, () => false));
      if (ok) return;
      await sleep(200);
    }
    throw new Error("MinIO did not become ready within 60 s");
  }

  /** SIGKILL: no chance to flush or finish requests, as a crashed host. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(t);
  }

  asS3Server(): S3Server {
    return { kind: "minio", endpoint: this.endpoint, region: "akave-network", accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey, ephemeral: false, stop: () => this.stop() };
  }
}

/** `o3ml serve` as a child process on a fixed port; SIGKILL and restart keep its home and bucket. */
export class ServiceProcess {
  private proc?: ChildProcess;
  readonly address: string;
  starts = 0;
  /** Largest VmHWM (peak resident set) seen of any incarnation, in bytes. */
  peakRss = 0;
  private sampler?: NodeJS.Timeout;

  constructor(
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
    private readonly extraArgs: string[] = [],
  ) {
    this.address = `127.0.0.1:${port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  alive(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const n = ++this.starts;
    const out = join(this.logDir, `service-${n}.log`);
    this.proc = tracked(
      spawn(process.execPath, [CLI, "serve", "--listen", this.address, "--json", "--create-bucket", "--chunk-size", "1", ...this.extraArgs], {
        env: this.env,
        stdio: ["ignore", "pipe", "pipe"],
        cwd: REPO_ROOT,
      }),
    );
    const proc = this.proc;
    const sink = createWriteStream(out, { flags: "a" });
    proc.stderr!.pipe(sink, { end: false });
    const ready = new Promise<void>((resolveReady, reject) => {
      let buf = "";
      proc.stdout!.on("data", (d: Buffer) => {
        sink.write(d);
        buf += d.toString();
        if (buf.includes('"event":"listening"')) resolveReady();
      });
      proc.once("exit", (code, sig) => reject(new Error(`o3ml serve exited (${code ?? sig}) before listening; see ${out}:\n${readTail(out)}`)));
    });
    await within(ready, timeoutMs, () => {
      throw new Error(`o3ml serve did not listen within ${timeoutMs / 1000} s; see ${out}`);
    });
    clearInterval(this.sampler);
    this.sampler = setInterval(() => this.sample(), 250);
    this.sampler.unref();
  }

  /** Current resident set in bytes (0 when not running). */
  rss(): number {
    return this.status("VmRSS");
  }

  sample(): void {
    this.peakRss = Math.max(this.peakRss, this.status("VmHWM"));
  }

  private status(field: string): number {
    if (!this.alive() || !this.proc?.pid) return 0;
    try {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${this.proc.pid}/status`, "utf8"));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  async kill(): Promise<void> {
    this.sample();
    const p = this.proc;
    if (!p || !this.alive()) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    this.sample();
    clearInterval(this.sampler);
    const p = this.proc;
    if (!p || !this.alive()) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(t);
  }
}

function readTail(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-3000);
  } catch {
    return "";
  }
}

export interface Cluster {
  logDir: string;
  home: string;
  bucket: string;
  token: string;
  minio: MinioProcess;
  profile: O3ProfileServer;
  service: ServiceProcess;
  /** The bucket, read and written straight at MinIO (no O3 profile, no faults). */
  direct: BlobStore;
  /** Environment of a client process (CLI, trainer) talking to the service. */
  clientEnv(): NodeJS.ProcessEnv;
  /** Environment of an `o3ml serve` in front of the O3-profile layer. */
  serviceEnv(overrides?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  cli(args: string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** Every secret o3ml was given: must never appear in a log or an error. */
  secrets(): string[];
  stop(): Promise<void>;
}

/** Environment without anything the developer's shell may have set for o3ml or AWS. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("O3ML_") && !k.startsWith("AWS_")) env[k] = v;
  return env;
}

export async function startCluster(root: string, seed: number): Promise<Cluster> {
  const logDir = join(root, "logs");
  const home = join(root, "home");
  for (const d of [logDir, home, join(root, "minio")]) mkdirSync(d, { recursive: true });
  // Fresh random secrets per run: the scan then looks for values no fixture could contain by chance.
  const secretKey = `rel-secret-${randomBytes(12).toString("hex")}`;
  const token = `rel-token-${randomBytes(12).toString("hex")}`;
  const minio = new MinioProcess(await freePort(), join(root, "minio"), "o3mlrel", secretKey, logDir);
  await minio.start();
  const profile = await startO3Profile(minio.asS3Server(), { networkDelayMs: 50, faults: { seed, rules: [] } });
  const bucket = `o3ml-rel-${seed}-${randomBytes(3).toString("hex")}`;
  const direct = createBlobStore({ endpoint: minio.endpoint, region: "akave-network", accessKeyId: minio.accessKeyId, secretAccessKey: secretKey, bucket, profile: "o3" });
  const serviceEnv = (overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...cleanEnv(),
    O3ML_ENDPOINT: profile.endpoint,
    O3ML_REGION: "akave-network",
    O3ML_ACCESS_KEY_ID: minio.accessKeyId,
    O3ML_SECRET_ACCESS_KEY: secretKey,
    O3ML_BUCKET: bucket,
    O3ML_HOME: home,
    O3ML_TOKEN: token,
    // Debug logging: the secrets scan should see everything the service can say.
    O3ML_LOG_LEVEL: "debug",
    ...overrides,
  });
  const service = new ServiceProcess(await freePort(), serviceEnv(), logDir);
  await service.start();
  const clientEnv = (): NodeJS.ProcessEnv => ({
    ...cleanEnv(),
    O3ML_SERVICE: service.address,
    O3ML_TOKEN: token,
    O3ML_BUCKET: bucket,
    O3ML_HOME: join(root, "client-home"),
    PYTHONUNBUFFERED: "1",
  });
  let cliRuns = 0;
  const cli = (args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> =>
    new Promise((resolveRun) => {
      const n = ++cliRuns;
      const child = tracked(spawn(process.execPath, [CLI, ...args], { env: opts.env ?? clientEnv(), stdio: ["ignore", "pipe", "pipe"], cwd: REPO_ROOT }));
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
      child.on("exit", (code) => {
        clearTimeout(t);
        appendFileSync(join(logDir, "cli.log"), `--- #${n} o3ml ${args.join(" ")} -> ${code}\n${stdout}\n${stderr}\n`);
        resolveRun({ code, stdout, stderr });
      });
    });
  return {
    logDir,
    home,
    bucket,
    token,
    minio,
    profile,
    service,
    direct,
    clientEnv,
    serviceEnv,
    cli,
    secrets: () => [secretKey, token],
    async stop() {
      await service.stop();
      await profile.stop();
      await minio.stop();
      direct.close();
    },
  };
}
