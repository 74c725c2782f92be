import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `o3ml serve --standin` as a user runs it, with no O3 endpoint set (so it
 * starts the embedded stand-in: moto behind the O3-profile layer), when it
 * cannot start.
 */
const BIN = fileURLToPath(new URL("../bin/o3ml.js", import.meta.url));
/** moto's server as the stand-in finds it: $O3ML_MOTO_SERVER, else the checkout's .venv (npm run setup). */
const MOTO = process.env.O3ML_MOTO_SERVER ?? fileURLToPath(new URL("../../../.venv/bin/moto_server", import.meta.url));

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(O3ML_|AWS_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function alive(pid: number): boolean {
  try {
    // A zombie still answers kill(0); it is not running.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

describe("o3ml serve on a port that is taken", { timeout: 120_000 }, () => {
  let taken: Server;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    port = (taken.address() as { port: number }).port;
    dir = mkdtempSync(join(tmpdir(), "o3ml-serve-taken-"));
  });
  afterAll(async () => {
    await new Promise((resolve) => taken?.close(resolve));
  });

  it("exits non-zero within seconds, names the address and what to do, and leaves no moto child behind", async () => {
    // moto, through a wrapper that records its pid and arguments before it becomes moto (exec keeps the pid).
    const moto = MOTO;
    expect(existsSync(moto), `moto_server not found at ${moto}; run npm run setup`).toBe(true);
    const record = join(dir, "moto.pid");
    const wrapper = join(dir, "moto-wrapper.sh");
    writeFileSync(wrapper, `#!/bin/sh\necho "$$ $*" > '${record}'\nexec '${moto}' "$@"\n`);
    chmodSync(wrapper, 0o755);

    const started = Date.now();
    const child = spawn(process.execPath, [BIN, "serve", "--standin", "--listen", `127.0.0.1:${port}`], {
      env: cleanEnv({ O3ML_HOME: join(dir, "home"), O3ML_MOTO_SERVER: wrapper, O3ML_LOG_LEVEL: "error" }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exit = await Promise.race([
      new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code))),
      sleep(60_000).then(() => "still running" as const),
    ]);
    if (exit === "still running") child.kill("SIGKILL");
    expect(exit, stderr).not.toBe("still running");
    expect(exit).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(stderr).toContain(`cannot listen on 127.0.0.1:${port}: the address is already in use`);
    expect(stderr).toContain("another port with --listen host:port");

    // The stand-in did start (its moto recorded itself), and nothing of it survives.
    const [pid, ...args] = readFileSync(record, "utf8").trim().split(" ");
    const motoPort = Number(args[args.indexOf("-p") + 1]);
    const survived = alive(Number(pid));
    if (survived) process.kill(Number(pid), "SIGKILL");
    expect(Number(pid)).toBeGreaterThan(0);
    expect(survived, `moto (pid ${pid}) outlived o3ml serve`).toBe(false);
    expect(await portFree(motoPort), `moto's port ${motoPort} is still held`).toBe(true);
  });
});
