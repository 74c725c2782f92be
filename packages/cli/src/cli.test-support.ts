import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The `o3ml` command as installed: bin/o3ml.js over the built dist/ (run `npx tsc -b tsconfig.build.json` first). */
export const BIN = fileURLToPath(new URL("../bin/o3ml.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a user with no O3 endpoint set (`serve` then starts the embedded stand-in), plus `extra`. */
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
  home: string;
  /** The environment of a client of this service: cleanEnv with O3ML_SERVICE set. */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/**
 * Starts `o3ml serve --listen 127.0.0.1:0 --chunk-size 1 --json ...args`
 * (the embedded stand-in, its own O3ML_HOME) and waits for its ready line.
 */
export async function startServe(args: string[] = [], env: Record<string, string> = {}): Promise<Served> {
  const home = mkdtempSync(join(tmpdir(), "o3ml-cli-home-"));
  const serve: ChildProcess = spawn(process.execPath, [BIN, "serve", "--listen", "127.0.0.1:0", "--chunk-size", "1", "--json", ...args], {
    env: cleanEnv(home, env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  serve.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<{ address: string; endpoint: string; bucket: string }>((resolve, reject) => {
    serve.once("exit", (code) => reject(new Error(`o3ml serve exited with ${code}: ${stderr}`)));
    createInterface({ input: serve.stdout! }).once("line", (line) => resolve(JSON.parse(line)));
  });
  return {
    ...ready,
    home,
    env: (extra = {}) => cleanEnv(home, { O3ML_SERVICE: ready.address, ...extra }),
    async stop() {
      if (serve.exitCode !== null || serve.signalCode !== null) return;
      const exited = new Promise((r) => serve.once("exit", r));
      serve.kill("SIGTERM");
      await exited;
    },
  };
}

