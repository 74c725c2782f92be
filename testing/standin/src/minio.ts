import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForHttp } from "./ports.js";
import { manage } from "./process.js";
import { repoRoot } from "./repo-root.js";
import type { S3Server } from "./s3-server.js";

/**
 * The MinIO binary: $O3ML_MINIO, else the one scripts/minio.sh builds and
 * caches. Returns undefined (with the reason) when it cannot be had here.
 */
export function minioBinary(): { path?: string; reason?: string } {
  if (process.env.O3ML_MINIO) return { path: process.env.O3ML_MINIO };
  const root = repoRoot();
  if (!root) return { reason: "not running from an o3ml checkout; set O3ML_MINIO to a minio binary" };
  try {
    const out = execFileSync("bash", [join(root, "scripts", "minio.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { path: out.trim() };
  } catch (err) {
    return { reason: `scripts/minio.sh failed: ${String((err as { stderr?: string }).stderr ?? err).trim()}` };
  }
}

/** Starts MinIO on 127.0.0.1 with its data in a fresh temporary folder (removed on stop). */
export async function startMinio(opts: { port?: number; binary?: string } = {}): Promise<S3Server> {
  const bin = opts.binary ?? minioBinary().path;
  if (!bin) throw new Error(`MinIO is not available: ${minioBinary().reason}`);
  const port = opts.port ?? (await freePort());
  const consolePort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "o3ml-minio-"));
  const accessKeyId = "o3mlminio";
  const secretAccessKey = "o3mlminio-secret";
  const proc = manage(
    bin,
    ["server", dataDir, "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${consolePort}`, "--quiet"],
    {
      ...process.env,
      MINIO_ROOT_USER: accessKeyId,
      MINIO_ROOT_PASSWORD: secretAccessKey,
      MINIO_REGION: "akave-network",
      MINIO_BROWSER: "off",
      MINIO_UPDATE: "off",
      MINIO_CI_CD: "1",
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${endpoint}/minio/health/ready`, 60_000, "MinIO", proc.alive);
    await waitForObjectLayer(endpoint, 60_000);
  } catch (err) {
    await proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  }
  return {
    kind: "minio",
    endpoint,
    region: "akave-network",
    accessKeyId,
    secretAccessKey,
    ephemeral: false,
    stop: async () => {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * MinIO can report ready before its object layer is initialised, and then
 * answers S3 requests with 503 XMinioServerNotInitialized for a moment: wait
 * until an (unsigned, so refused) S3 request gets a real answer.
 */
async function waitForObjectLayer(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${endpoint}/`).catch(() => undefined);
    const body = res ? await res.text() : "";
    if (res && res.status !== 503 && !body.includes("XMinioServerNotInitialized")) return;
    if (Date.now() > deadline) throw new Error(`MinIO at ${endpoint} did not initialise its object layer within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
