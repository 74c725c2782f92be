import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/o3ml.js", import.meta.url));

/** `o3ml serve` over a local folder store in a new O3ML_HOME, once it has printed its ready line. */
async function serve(extraEnv: Record<string, string>): Promise<{ child: ChildProcess; home: string }> {
  const home = mkdtempSync(join(tmpdir(), "o3ml-young-gen-"));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(O3ML_|AWS_|NODE_OPTIONS$)/.test(k)) env[k] = v;
  const child = spawn(process.execPath, [BIN, "serve", "--listen", "127.0.0.1:0", "--json"], {
    env: { ...env, O3ML_HOME: home, O3ML_LOG_LEVEL: "error", ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`o3ml serve exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout }).once("line", () => resolve());
  });
  return { child, home };
}

/** The command line the process with `pid` runs now (after any exec). */
const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);

describe("o3ml serve's young generation", () => {
  const started: { child: ChildProcess; home: string }[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) {
      if (s.child.exitCode === null && s.child.signalCode === null) {
        s.child.kill("SIGKILL");
        await new Promise((r) => s.child.once("exit", r));
      }
      rmSync(s.home, { recursive: true, force: true });
    }
  });

  it.skipIf(typeof process.execve !== "function")("is kept small: the same process starts again with the flag, and stops on SIGTERM as before", async () => {
    const s = await serve({});
    started.push(s);
    const argv = commandLine(s.child.pid!);
    expect(argv).toContain("--max-semi-space-size=4");
    expect(argv.slice(-5)).toEqual([BIN, "serve", "--listen", "127.0.0.1:0", "--json"]);
    // The PID the caller holds is the service: a signal to it drains and stops the service.
    const exited = new Promise<number | null>((r) => s.child.once("exit", (code) => r(code)));
    s.child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("keeps a size the user gave in NODE_OPTIONS", async () => {
    const s = await serve({ NODE_OPTIONS: "--max-semi-space-size=16" });
    started.push(s);
    expect(commandLine(s.child.pid!).some((a) => a.startsWith("--max-semi-space-size"))).toBe(false);
  });
});
