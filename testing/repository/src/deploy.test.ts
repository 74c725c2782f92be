import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { DockerfileParser } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import { applyConfigFile, SERVE_ENV } from "../../../packages/o3ml/src/serve-config.js";
import { registerServe } from "../../../packages/o3ml/src/serve.js";
import { REPO_ROOT } from "./tracked-files.js";

/**
 * The deployment recipes in deploy/, checked as far as this repository can
 * without a container engine or a systemd to run them under: the
 * Containerfile parses and lints clean, copies only what the repository
 * has, sets only variables the service reads, pins the Node of .nvmrc and
 * probes readiness where it listens; the systemd unit passes
 * `systemd-analyze verify`; the example settings are ones `o3ml serve`
 * accepts. Building the image and starting the unit are not done here
 * (deploy/README.md says so).
 */
const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");
/** Variables the recipes may set besides the service's own: glibc's arena cap (docs/setup.md) and Node's mode. */
const PROCESS_ENV = ["MALLOC_ARENA_MAX", "NODE_ENV"];

describe("deploy/container/Containerfile", () => {
  const text = read("deploy/container/Containerfile");
  const file = DockerfileParser.parse(text);

  it("lints clean", () => {
    expect(validate(text).map((d) => `line ${d.range.start.line + 1}: ${typeof d.message === "string" ? d.message : d.message.value}`)).toEqual([]);
  });

  it("copies from the build context only files and folders the repository has", () => {
    const sources = file
      .getCOPYs()
      .filter((c) => !c.getFromFlag())
      .flatMap((c) => c.getArguments().slice(0, -1).map((a) => a.getValue()));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
    // What `npm ci` needs: every workspace the root package.json names.
    const workspaces = (JSON.parse(read("package.json")) as { workspaces: string[] }).workspaces.map((w) => w.split("/")[0]!);
    for (const top of new Set(workspaces)) expect(sources, `workspace folder ${top}`).toContain(top);
  });

  it("sets only variables the service reads", () => {
    const names = file.getENVs().flatMap((e) => e.getProperties().map((p) => p.getName()));
    expect(names).toContain("O3ML_HOME");
    for (const name of names) expect([...SERVE_ENV, ...PROCESS_ENV], name).toContain(name);
  });

  it("builds on the Node release .nvmrc pins", () => {
    const arg = file.getInitialARGs().flatMap((a) => a.getProperties()).find((p) => p.getName() === "NODE_VERSION");
    expect(arg?.getValue()).toBe(read(".nvmrc").trim());
    for (const from of file.getFROMs()) expect(from.getImageName()).toBe("node");
  });

  it("runs as a user of its own, keeps O3ML_HOME on a volume, and probes readiness with o3ml health where the service listens", () => {
    const instructions = file.getInstructions();
    const last = (keyword: string) => instructions.filter((i) => i.getKeyword() === keyword).at(-1)?.getArgumentsContent() ?? "";
    expect(last("USER")).toBe("o3ml");
    const home = file.getENVs().flatMap((e) => e.getProperties()).find((p) => p.getName() === "O3ML_HOME")?.getValue();
    expect(JSON.parse(last("VOLUME"))).toEqual([home]);
    expect(JSON.parse(last("ENTRYPOINT"))).toEqual(["o3ml", "serve"]);
    const cmd = JSON.parse(last("CMD")) as string[];
    const listen = cmd[cmd.indexOf("--listen") + 1];
    const probe = JSON.parse(/\bCMD\s+(\[.*\])\s*$/s.exec(last("HEALTHCHECK").replace(/\\\n/g, " "))![1]!) as string[];
    expect(probe.slice(0, 2)).toEqual(["o3ml", "health"]);
    expect(probe[probe.indexOf("--service") + 1]).toBe(listen);
    expect(last("STOPSIGNAL")).toBe("SIGTERM");
  });
});

describe("deploy/systemd/o3ml.service", () => {
  const unit = read("deploy/systemd/o3ml.service");
  const values = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]!.trim());
  const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });

  it.skipIf(analyze.status !== 0)("passes systemd-analyze verify (with ExecStart pointed at this checkout's o3ml)", () => {
    const dir = mkdtempSync(join(tmpdir(), "o3ml-unit-"));
    try {
      const bin = join(REPO_ROOT, "packages", "o3ml", "bin", "o3ml.js");
      const path = join(dir, "o3ml.service");
      writeFileSync(path, unit.replace(/^ExecStart=\S+/m, `ExecStart=${bin}`));
      const r = spawnSync("systemd-analyze", ["verify", path], { encoding: "utf8" });
      // verify exits 0 on unknown keys too, with a warning: any output is a finding.
      expect({ status: r.status, output: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, output: "" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs `o3ml serve --config` as a user of its own, restarts on failure, and waits longer than the drain before SIGKILL", () => {
    expect(values("User")).toEqual(["o3ml"]);
    expect(values("Restart")).toEqual(["on-failure"]);
    expect(values("ExecStart")[0]).toMatch(/\/o3ml serve --config \/etc\/o3ml\/o3ml\.toml$/);
    expect(values("ExecStart")[0]).toMatch(/^\/usr\/local\/bin\/o3ml /);
    expect(values("MemoryDenyWriteExecute")).toEqual([]);
    const drain = Number(/^drain-seconds\s*=\s*(\d+)/m.exec(read("deploy/o3ml.toml.example"))![1]);
    // 5 s: how long a stop lets connections flush after the drain (services/storage/src/server.ts).
    expect(Number.parseInt(values("TimeoutStopSec")[0]!, 10)).toBeGreaterThan(drain + 5);
  });

  it("sets only variables the service reads, keeps O3ML_HOME in its state directory, and names the example environment file", () => {
    const set = values("Environment").map((v) => v.split("=")[0]!);
    const example = read("deploy/systemd/o3ml.env.example")
      .split("\n")
      .filter((l) => /^#?[A-Z0-9_]+=/.test(l))
      .map((l) => l.replace(/^#/, "").split("=")[0]!);
    expect(example.length).toBeGreaterThan(2);
    for (const name of [...set, ...example]) expect([...SERVE_ENV, ...PROCESS_ENV], name).toContain(name);
    expect(values("Environment")).toContain(`O3ML_HOME=/var/lib/${values("StateDirectory")[0]}`);
    expect(values("EnvironmentFile")).toEqual(["/etc/o3ml/o3ml.env"]);
  });
});

describe("deploy/o3ml.toml.example", () => {
  it("is a configuration o3ml serve --config accepts", () => {
    const program = new Command().exitOverride();
    registerServe(program);
    const serve = program.commands.find((c) => c.name() === "serve")!;
    const env: NodeJS.ProcessEnv = {};
    applyConfigFile(join(REPO_ROOT, "deploy", "o3ml.toml.example"), serve, env);
    expect(serve.opts()).toMatchObject({ listen: "127.0.0.1:7433", drainSeconds: "30" });
    expect(env).toMatchObject({ O3ML_ENDPOINT: "https://o3-rc2.akave.xyz", O3ML_BUCKET: "my-team-training" });
    // No keys in the file: they belong in the environment file, readable by root alone.
    expect(Object.keys(env).filter((k) => /SECRET|TOKEN|PASSWORD|DATABASE_URL/.test(k))).toEqual([]);
  });
});
