import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, cleanEnv, o3ml, startServe, type Served } from "../../cli/src/cli.test-support.js";

/**
 * `o3ml serve --config FILE`: TOML with the flags' and the variables' names;
 * a flag wins over the environment, the environment over the file, the file
 * over the defaults; a key or value the service would not take stops it
 * before it starts, naming the key and the file.
 */
describe("o3ml serve --config", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "o3ml-config-"));
  const running: Served[] = [];
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const s of running) await s.stop();
    for (const stop of stops) await stop();
    for (const f of [dir, ...running.map((s) => s.home)]) rmSync(f, { recursive: true, force: true });
  });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("takes the listen address, the store and O3ML_HOME from the file when neither a flag nor the environment sets them", async () => {
    const socket = join(dir, "from-file.sock");
    const home = join(dir, "home-from-file");
    const config = file(
      "node.toml",
      `# one service per training node\nlisten = "unix:${socket}"\nchunk-size = 2\ndrain-seconds = 5\nO3ML_HOME = "${home}"\nO3ML_BUCKET = "from-file"\n`,
    );
    // No O3ML_HOME in the environment: the file's applies.
    const env = cleanEnv(join(dir, "unused"));
    delete env.O3ML_HOME;
    const child = spawn(process.execPath, [BIN, "serve", "--config", config, "--json"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((r) => child.once("exit", r));
    stops.push(async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    });
    const ready = await new Promise<{ address: string; bucket: string; localDir: string }>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`o3ml serve exited with ${code}: ${stderr}`)));
      createInterface({ input: child.stdout }).once("line", (line) => resolve(JSON.parse(line)));
    });
    expect(ready).toMatchObject({ address: `unix:${socket}`, bucket: "from-file", localDir: join(home, "store") });
  });

  it("lets a flag win over the file, and the environment win over the file", async () => {
    const config = file("override.toml", `listen = "127.0.0.1:1"\nO3ML_BUCKET = "from-file"\n`);
    // startServe gives --listen 127.0.0.1:0 on the command line.
    const s = await startServe(["--config", config], { O3ML_BUCKET: "from-env" });
    running.push(s);
    expect(s.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(s.address).not.toBe("127.0.0.1:1");
    expect(s.bucket).toBe("from-env");
  });

  it("names the file and the key of an unknown setting, a value of the wrong type, and a file that is not TOML", async () => {
    const env = cleanEnv(join(dir, "errors-home"));
    const unknown = file("unknown.toml", `endpoint = "http://127.0.0.1:9000"\n`);
    let r = await o3ml(["serve", "--config", unknown], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`o3ml: INVALID_ARGUMENT: --config ${unknown}: "endpoint" is not a setting of o3ml serve (did you mean O3ML_ENDPOINT?)`);

    const wrongType = file("wrong-type.toml", `concurrency = "8"\n`);
    r = await o3ml(["serve", "--config", wrongType], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--config ${wrongType}: concurrency is a string; it takes a number, as --concurrency does`);

    const wrongEnvType = file("wrong-env-type.toml", `O3ML_BUCKET = ["a"]\n`);
    r = await o3ml(["serve", "--config", wrongEnvType], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--config ${wrongEnvType}: O3ML_BUCKET is an array; it takes a string, as the environment variable does`);

    const notToml = file("broken.toml", `listen = "127.0.0.1:7433"\nconcurrency = \n`);
    r = await o3ml(["serve", "--config", notToml], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--config ${notToml}: not valid TOML at line 2`);

    r = await o3ml(["serve", "--config", join(dir, "missing.toml")], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--config ${join(dir, "missing.toml")}: cannot read it`);
  });
});
