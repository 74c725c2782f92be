import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, type CliResult } from "./cli.test-support.js";

/**
 * The packed `o3ml` command (@o3ml/o3ml: these client commands composed
 * with `o3ml serve`) as a user installs it: `npm i -g` of the tarballs
 * `npm run package` writes to dist-packages/npm/ into a temporary prefix
 * (third-party dependencies from the registry), then `o3ml` from that
 * prefix, in a folder outside the checkout. better-sqlite3 brings its addon
 * prebuilt inside its package: nothing is compiled or downloaded from
 * anywhere but the registry.
 */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PACKAGES = join(ROOT, "dist-packages");

describe("npm i -g of the packed o3ml command", { timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), "o3ml-npm-install-"));
  const prefix = join(work, "prefix");
  const bin = join(prefix, "bin", "o3ml");
  const home = join(work, "home");
  const running: ChildProcess[] = [];

  const run = (args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(bin, args, { env, cwd: work, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  async function serve(): Promise<{ address: string; localDir?: string; stop(): Promise<void> }> {
    const child = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--json"], { env: cleanEnv(home), cwd: work, stdio: ["ignore", "pipe", "pipe"] });
    running.push(child);
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const ready = await new Promise<{ address: string; localDir?: string }>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`o3ml serve exited with ${code}: ${stderr}`)));
      createInterface({ input: child.stdout }).once("line", (line) => resolve(JSON.parse(line)));
    });
    return {
      ...ready,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      },
    };
  }

  beforeAll(async () => {
    const npmDir = join(PACKAGES, "npm");
    const tarballs = existsSync(npmDir) ? readdirSync(npmDir).filter((f) => f.endsWith(".tgz")) : [];
    if (!tarballs.some((f) => f.startsWith("o3ml-o3ml-"))) throw new Error(`no packed @o3ml/o3ml in ${npmDir}: run \`npm run package\` first`);
    mkdirSync(home);
    await new Promise<void>((resolve, reject) => {
      execFile(
        "npm",
        ["install", "--global", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", ...tarballs.map((f) => join(npmDir, f))],
        { cwd: work, maxBuffer: 64 << 20 },
        (err, _stdout, stderr) => (err ? reject(new Error(`npm install --global failed: ${stderr}`)) : resolve()),
      );
    });
  });

  afterAll(() => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  });

  it("installs an o3ml command that runs outside the checkout", async () => {
    const version = await run(["--version"], cleanEnv(home));
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, "packages", "o3ml", "package.json"), "utf8")).version);
    // Only what the tarballs hold and their registry dependencies: no test tooling came along.
    expect(existsSync(join(prefix, "lib", "node_modules", "@o3ml", "standin"))).toBe(false);
  });

  it("serves from O3ML_HOME/store, puts, gets and lists, and keeps the data across a restart", async () => {
    const src = join(work, "src.bin");
    const body = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251));
    writeFileSync(src, body);

    let s = await serve();
    expect(s.localDir).toBe(join(home, "store"));
    const env = () => cleanEnv(home, { O3ML_SERVICE: s.address });
    const put = await run(["put", src, "installed/blob.bin"], env());
    expect(put.code, put.stderr).toBe(0);
    const first = join(work, "first.bin");
    const got = await run(["get", "installed/blob.bin", first], env());
    expect(got.code, got.stderr).toBe(0);
    expect(readFileSync(first).equals(body)).toBe(true);
    await s.stop();

    s = await serve();
    const again = join(work, "again.bin");
    const kept = await run(["get", "installed/blob.bin", again], env());
    expect(kept.code, kept.stderr).toBe(0);
    expect(readFileSync(again).equals(body)).toBe(true);
    const ls = await run(["ls", "installed/", "--json"], env());
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain("installed/blob.bin");
    await s.stop();
  });

  it("says that --standin needs a checkout", async () => {
    const out = await run(["serve", "--standin", "--listen", "127.0.0.1:0"], cleanEnv(home));
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain("--standin needs the stand-in");
  });
});
