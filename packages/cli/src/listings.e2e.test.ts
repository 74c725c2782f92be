import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, o3ml, seedHistory, startServe, type History, type Served } from "./cli.test-support.js";

/**
 * What the listings show first (names, before ids and CIDs), how far
 * lineage reaches by default (one edge), and `o3ml verify`'s progress,
 * shown on an interactive terminal only.
 */
describe("listings, lineage depth and verify progress", { timeout: 240_000 }, () => {
  let served: Served;
  let seeded: History;
  const cli = (...args: string[]) => o3ml(args, served.env());
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const lines = (text: string) => text.trimEnd().split("\n");

  beforeAll(async () => {
    served = await startServe();
    seeded = await seedHistory(served);
  });
  afterAll(async () => {
    await served?.stop();
  });

  it("runs ls, ckpt ls and the dataset commands name things before their ids and CIDs", async () => {
    const [head, ...runs] = lines(await ok("runs", "ls"));
    expect(head).toMatch(/^NAME\s+CREATED\s+COMMIT\s+HOST\s+ID$/);
    expect(runs.map((r) => r.split(/\s+/)[0])).toEqual(["mnist-baseline", "mnist-finetune"]);
    expect(runs[0]!.endsWith(seeded.baselineId)).toBe(true);

    // Checkpoints record their run's id; the listing shows the run's name.
    const [ckptHead, ...ckpts] = lines(await ok("ckpt", "ls"));
    expect(ckptHead).toMatch(/^run\s+step\s+state\s+created\s+size\s+uploaded\s+key\s+id$/);
    expect(ckpts).toHaveLength(2);
    ckpts.forEach((row, i) => {
      expect(row).toMatch(new RegExp(`^mnist-baseline\\s+${(i + 1) * 10}\\s`));
      expect(row.endsWith(`${seeded.checkpoints[i]!.key}  ${seeded.checkpoints[i]!.cid}`)).toBe(true);
      expect(row).not.toContain(seeded.baselineId);
    });
    const [sortedHead, best] = lines(await ok("ckpt", "ls", "--sort", "val_loss"));
    expect(sortedHead).toMatch(/^val_loss\s+run\s+step\s+epoch\s+created\s+key\s+id$/);
    expect(best).toMatch(/^0\.25\s+mnist-baseline\s+20\s/);
    // --json keeps the id, what scripts select on.
    expect(JSON.parse(await ok("ckpt", "ls", "--json"))[0].run).toBe(seeded.baselineId);

    expect(lines(await ok("dataset", "ls"))[0]).toMatch(/^\S+\s+digits@v1\s/);
    expect(lines(await ok("dataset", "show", "digits"))[0]).toBe(`digits@v1  ${seeded.datasetCid}`);
  });

  it("lineage follows one edge each way unless --depth says more", async () => {
    const [first, second] = seeded.checkpoints as [History["checkpoints"][0], History["checkpoints"][0]];
    const nodes = async (...depth: string[]) =>
      (JSON.parse(await ok("lineage", second.cid, "--format", "json", ...depth)) as { nodes: { id: string }[] }).nodes.map((n) => n.id).sort();
    const near = [`checkpoint:${first.cid}`, `checkpoint:${second.cid}`, `run:${seeded.baselineId}`].sort();
    expect(await nodes()).toEqual(near);
    expect(await nodes("--depth", "1")).toEqual(near);
    // The dataset is two edges away: under the parent checkpoint, and under the run.
    expect(await nodes("--depth", "2")).toEqual([...near, `dataset-version:${seeded.datasetCid}`].sort());
    expect(await nodes("--depth", "all")).toEqual([...near, `dataset-version:${seeded.datasetCid}`].sort());
    const text = await ok("lineage", second.cid);
    expect(text).toContain("parent: checkpoint step 10");
    expect(text).not.toContain("trained-on:");
    const bad = await cli("lineage", second.cid, "--depth", "0");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--depth 0: give a whole number of edges, 1 or more, or all");
  });

  it("verify shows its progress on stderr when that is a terminal, and never with --json or into a pipe", async () => {
    const dir = mkdtempSync(join(tmpdir(), "o3ml-verify-tty-"));
    /** `o3ml verify ...args` with stderr on a pseudo-terminal (util-linux `script`) and stdout into a file. */
    const onTerminal = (...args: string[]) =>
      new Promise<{ terminal: string; stdout: string }>((resolve, reject) => {
        const out = join(dir, `stdout-${args.length}.txt`);
        const command = [process.execPath, BIN, "verify", ...args].map((a) => `'${a}'`).join(" ");
        execFile("script", ["-qec", `${command} > '${out}'`, "/dev/null"], { env: served.env() }, (err, terminal) =>
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an ExecFileException is an Error; @types/node builds its type with Omit<>, which hides that from the rule
          err ? reject(err) : resolve({ terminal, stdout: readFileSync(out, "utf8") }),
        );
      });

    const human = await onTerminal();
    // checkpoints, dataset versions and objects (the dataset's shards are no plain objects), counted as they start.
    expect(human.terminal).toMatch(/verify \[[^\]]*\] 1\/3\s+[\d.]+ MiB\s+checkpoint runs\/mnist-baseline\/step=10\.ckpt/);
    expect(human.terminal).toContain("dataset digits@v1");
    expect(human.stdout).toMatch(/^ok {2}2 checkpoints, 1 dataset versions, 0 objects; /);
    expect(human.stdout).not.toContain("verify [");

    const machine = await onTerminal("--json");
    expect(machine.terminal).not.toContain("verify [");
    expect(JSON.parse(machine.stdout)).toMatchObject({ ok: true, checkpoints: 2, datasetVersions: 1 });

    const piped = await cli("verify");
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe("");
  });
});
