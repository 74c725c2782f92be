import { spawn } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, cleanEnv, o3ml, startServe, type Served } from "../../cli/src/cli.test-support.js";

/**
 * `o3ml serve --listen unix:/path`: a socket only its owner can open, which
 * the o3ml command reaches through O3ML_SERVICE=unix:/path; a socket left by
 * a service that died is taken over, one a live service holds is not.
 */
describe("o3ml serve on a unix socket", { timeout: 180_000 }, () => {
  const running: Served[] = [];
  const dir = mkdtempSync(join(tmpdir(), "o3ml-unix-"));
  afterAll(async () => {
    for (const s of running) await s.stop();
    for (const f of [dir, ...running.map((s) => s.home)]) rmSync(f, { recursive: true, force: true });
  });

  /** `o3ml serve` that is expected to refuse to start: its exit code and stderr. */
  const refused = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, "serve", ...args], { env: cleanEnv(join(dir, "refused-home")), stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("exit", (code) => resolve({ code, stderr }));
    });

  it("creates the socket owner-only, serves the o3ml command through it, and removes it on stop", async () => {
    const socket = join(dir, "serve.sock");
    const s = await startServe(["--listen", `unix:${socket}`]);
    running.push(s);
    expect(s.address).toBe(`unix:${socket}`);
    const st = lstatSync(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);

    const src = join(dir, "src.bin");
    writeFileSync(src, Buffer.alloc(300_000, 7));
    const env = s.env();
    expect(env.O3ML_SERVICE).toBe(`unix:${socket}`);
    const put = await o3ml(["put", src, "unix/one.bin"], env);
    expect(put.code, put.stderr).toBe(0);
    const out = join(dir, "out.bin");
    const got = await o3ml(["get", "unix/one.bin", out], env);
    expect(got.code, got.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    const health = await o3ml(["health", "--json"], env);
    expect(health.code, health.stderr).toBe(0);
    expect(JSON.parse(health.stdout)).toEqual({ address: `unix:${socket}`, status: "SERVING" });

    await s.stop();
    expect(await s.exited).toBe(0);
    expect(() => lstatSync(socket)).toThrow(/ENOENT/);
  });

  it("refuses a socket a live service holds, and takes over one left by a service that died", async () => {
    const socket = join(dir, "shared.sock");
    const first = await startServe(["--listen", `unix:${socket}`]);
    running.push(first);

    const second = await refused(["--listen", `unix:${socket}`]);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`cannot listen on unix:${socket}: another process is serving on that socket`);
    // The live service's socket is left as it was.
    const health = await o3ml(["health"], first.env());
    expect(health.code, health.stderr).toBe(0);

    // Killed without a chance to clean up: its socket file stays, with nobody behind it.
    first.kill("SIGKILL");
    await first.exited;
    expect(lstatSync(socket).isSocket()).toBe(true);
    const after = await startServe(["--listen", `unix:${socket}`]);
    running.push(after);
    const again = await o3ml(["health"], after.env());
    expect(again.code, again.stderr).toBe(0);
  });

  it("refuses a path that holds a file which is not a socket, and leaves the file alone", async () => {
    const path = join(dir, "not-a-socket");
    writeFileSync(path, "keep me");
    const r = await refused(["--listen", `unix:${path}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot listen on unix:${path}: a file that is not a socket is there`);
    expect(readFileSync(path, "utf8")).toBe("keep me");
  });
});
