import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, cleanEnv, o3ml, startServe, type Served } from "../../cli/src/cli.test-support.js";

/**
 * `o3ml serve` with no endpoint, as a user runs it (bin/o3ml.js): data put
 * through it is still there after the service restarts with the same
 * O3ML_HOME, and it says where it keeps it.
 */
describe("o3ml serve keeps its data across restarts", { timeout: 120_000 }, () => {
  const running: Served[] = [];
  afterAll(async () => {
    for (const s of running) await s.stop();
  });

  it("serves after a restart what was put before it, from O3ML_HOME/store", async () => {
    const home = mkdtempSync(join(tmpdir(), "o3ml-restart-home-"));
    const files = mkdtempSync(join(tmpdir(), "o3ml-restart-files-"));
    const src = join(files, "src.bin");
    const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
    writeFileSync(src, body);

    let s = await startServe([], {}, home);
    running.push(s);
    expect(s).toMatchObject({ standin: false, localDir: join(home, "store") });
    expect(s.endpoint).toBe(`file://${join(home, "store")}`);
    const put = await o3ml(["put", src, "kept/across-restarts.bin"], s.env());
    expect(put.code, put.stderr).toBe(0);
    await s.stop();
    expect(existsSync(join(home, "store", s.bucket))).toBe(true);

    s = await startServe([], {}, home);
    running.push(s);
    const out = join(files, "out.bin");
    const got = await o3ml(["get", "kept/across-restarts.bin", out], s.env());
    expect(got.code, got.stderr).toBe(0);
    expect(readFileSync(out).equals(body)).toBe(true);
    const ls = await o3ml(["ls", "kept/", "--json"], s.env());
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(ls.stdout))).toContain("kept/across-restarts.bin");
  });

  it("names the folder in its start message", async () => {
    const home = mkdtempSync(join(tmpdir(), "o3ml-restart-msg-"));
    const child = spawn(process.execPath, [BIN, "serve", "--listen", "127.0.0.1:0"], { env: cleanEnv(home), stdio: ["ignore", "pipe", "pipe"] });
    const line = await new Promise<string>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`o3ml serve exited with ${code}`)));
      child.stdout.once("data", (d: Buffer) => resolve(d.toString()));
    });
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
    expect(line).toContain(`data kept in ${join(home, "store")}`);
  });
});
