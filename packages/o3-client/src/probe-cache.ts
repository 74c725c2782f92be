import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Capabilities } from "./blob-store.js";

export interface ProbeCacheOptions {
  /** Folder of the JSON answers; false keeps them in memory only. Default `${O3ML_HOME:-~/.o3ml}/probes`. */
  dir?: string | false;
  /** A cached answer older than this is probed again (default one day): endpoints get upgraded. */
  maxAgeMs?: number;
  logger?: Logger;
}

export const DEFAULT_PROBE_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** One probe per endpoint + bucket and process; concurrent callers share it. */
const inProcess = new Map<string, Promise<Capabilities>>();

interface CachedProbe {
  endpoint: string;
  bucket: string;
  capabilities: Capabilities;
}

/**
 * The capabilities of `bucket` at `endpoint`: from this process's memory,
 * else from the JSON cache on disk if fresh, else by running `probe` (whose
 * answer is logged once at info level and written to disk). A failed probe is
 * not remembered, so the next call tries again.
 */
export function cachedCapabilities(endpoint: string, bucket: string, probe: () => Promise<Capabilities>, opts: ProbeCacheOptions = {}): Promise<Capabilities> {
  const id = `${endpoint}\n${bucket}`;
  let answer = inProcess.get(id);
  if (!answer) {
    answer = load(endpoint, bucket, probe, opts);
    inProcess.set(id, answer);
    answer.catch(() => inProcess.delete(id));
  }
  return answer;
}

/** Forgets the in-process answers (the disk cache stays). */
export function forgetCapabilities(): void {
  inProcess.clear();
}

export function defaultProbeDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.O3ML_HOME?.trim() || join(homedir(), ".o3ml");
  return join(home.replace(/^~(?=$|\/)/, homedir()), "probes");
}

async function load(endpoint: string, bucket: string, probe: () => Promise<Capabilities>, opts: ProbeCacheOptions): Promise<Capabilities> {
  const dir = opts.dir === undefined ? defaultProbeDir() : opts.dir;
  const file = dir === false ? undefined : join(dir, `${createHash("sha256").update(`${endpoint}\n${bucket}`).digest("hex").slice(0, 24)}.json`);
  const maxAge = opts.maxAgeMs ?? DEFAULT_PROBE_MAX_AGE_MS;
  if (file) {
    const cached = await readCached(file);
    if (cached && cached.endpoint === endpoint && cached.bucket === bucket && Date.now() - Date.parse(cached.capabilities.probedAt) < maxAge) {
      opts.logger?.debug({ endpoint, bucket, capabilities: cached.capabilities, file }, "capabilities from the probe cache");
      return cached.capabilities;
    }
  }
  const started = Date.now();
  const capabilities = await probe();
  opts.logger?.info({ endpoint, bucket, capabilities, ms: Date.now() - started }, "capability probe");
  if (file && dir) {
    try {
      await mkdir(dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ endpoint, bucket, capabilities } satisfies CachedProbe, null, 2));
      await rename(tmp, file);
    } catch (err) {
      opts.logger?.warn({ file, err: String(err) }, "could not write the probe cache; probing again next run");
    }
  }
  return capabilities;
}

async function readCached(file: string): Promise<CachedProbe | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as CachedProbe;
    return typeof parsed?.capabilities?.probedAt === "string" ? parsed : undefined;
  } catch {
    // Missing or unreadable: probe again.
    return undefined;
  }
}
