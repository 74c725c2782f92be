import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointClient, ServiceClient, type WireCheckpointInfo } from "@o3ml/client";
import { o3ml as run, startServe, type Served } from "../cli.test-support.js";

/**
 * `o3ml ckpt pin`, `unpin` and `prune` as a user runs them: the built CLI
 * against `o3ml serve` (its local directory store), checkpoints saved through
 * the CheckpointService with the step, epoch and metrics Lightning records.
 */
describe("o3ml ckpt prune, pin and unpin", { timeout: 180_000 }, () => {
  let ready: Served;
  let client: CheckpointClient;
  let objects: ServiceClient;
  const saved: WireCheckpointInfo[] = [];
  let child: WireCheckpointInfo;
  const losses = [0.5, 0.2, 0.4, 0.3, 0.6];

  const o3ml = (...args: string[]) => run(args, ready.env());
  const json = async (...args: string[]) => {
    const r = await o3ml(...args, "--json");
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  const keys = (list: { key: string }[]) => list.map((c) => c.key).sort();
  const reasonsOf = (out: { kept: { key: string; reasons: string[] }[] }) => Object.fromEntries(out.kept.map((c) => [c.key, c.reasons]));
  const key = (epoch: number) => `runs/prune/epoch=${epoch}.ckpt`;

  beforeAll(async () => {
    ready = await startServe();
    client = new CheckpointClient(ready.address);
    objects = new ServiceClient(ready.address);
    for (const [epoch, loss] of losses.entries()) {
      const entries = [{ name: "data.pkl", kind: "skeleton" as const, data: Buffer.from(`epoch ${epoch}`) }];
      saved.push(await client.save({ key: key(epoch), run: "prune-run", step: 100 * (epoch + 1), epoch, metrics: { val_loss: loss } }, entries));
    }
    // Another run resumed from the first checkpoint: pruning that one would cut the other's lineage.
    child = await client.save({ key: "runs/child/epoch=0.ckpt", run: "child-run", step: 600, epoch: 5, parentCid: saved[0]!.cid }, [
      { name: "data.pkl", kind: "skeleton", data: Buffer.from("child") },
    ]);
  }, 180_000);
  afterAll(async () => {
    client?.close();
    objects?.close();
    await ready?.stop();
    if (ready) rmSync(ready.home, { recursive: true, force: true });
  });

  it("refuses a prune without rules, and rules it cannot read, saying what to give (exit 2), deleting nothing", async () => {
    const cases: [string[], string][] = [
      [[], "--keep-last 1"],
      [["--keep-best", "2:val_loss:mid"], "neither min"],
      [["--keep-best", "two:val_loss:min"], "whole number"],
      [["--keep-best", "2:min"], "K:METRIC:min|max"],
      [["--keep-every", "3:week"], "N:step or N:epoch"],
      [["--keep-last", "0"], "whole number >= 1"],
      [["--keep-within", "3w"], "s, m, h, d"],
    ];
    for (const [rules, says] of cases) {
      const r = await o3ml("ckpt", "prune", "--run", "prune-run", ...rules, "--json");
      expect(r.code, `${rules.join(" ")}: ${r.stderr}`).toBe(2);
      expect(JSON.parse(r.stdout).error.code).toBe("INVALID_ARGUMENT");
      expect(r.stderr).toContain(says);
    }
    expect(keys(await json("ckpt", "ls", "--run", "prune-run"))).toEqual(keys(saved.map((c) => ({ key: c.key }))));
    const unknown = await o3ml("ckpt", "prune", "--run", "no-such-run", "--keep-last", "1");
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("no-such-run");
  });

  it("a dry run lists what goes and why each other stays, and deletes nothing; pins survive an index rebuild", async () => {
    expect(await json("ckpt", "pin", key(2))).toMatchObject({ id: saved[2]!.cid, pinned: true });
    const rebuilt = await o3ml("index", "rebuild");
    expect(rebuilt.code, rebuilt.stderr).toBe(0);

    const out = await json("ckpt", "prune", "--run", "prune-run", "--keep-last", "1", "--keep-best", "1:val_loss:min", "--dry-run");
    expect(out.dryRun).toBe(true);
    expect(keys(out.removed)).toEqual([key(3)]);
    expect(reasonsOf(out)).toEqual({
      [key(0)]: ["resumed from by run child-run"],
      [key(1)]: ["best 1 by val_loss (min)"],
      [key(2)]: ["pinned"],
      [key(4)]: ["newest", "last 1"],
    });
    const human = await o3ml("ckpt", "prune", "--run", "prune-run", "--keep-last", "1", "--keep-best", "1:val_loss:min", "--dry-run");
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/would remove .*epoch=3\.ckpt/);
    expect(human.stdout).toMatch(/keep .*epoch=2\.ckpt .*pinned/);
    expect(human.stdout).toContain("would remove 1 of 5 checkpoint(s) of run prune-run; nothing was deleted");

    const every = await json("ckpt", "prune", "--run", "prune-run", "--keep-every", "2:epoch", "--dry-run");
    expect(keys(every.removed)).toEqual([key(1), key(3)]);
    expect(reasonsOf(every)[key(4)]).toEqual(["newest", "every 2 epochs"]);
    const recent = await json("ckpt", "prune", "--run", "prune-run", "--keep-within", "1d", "--dry-run");
    expect(recent.removed).toEqual([]);

    expect(keys(await json("ckpt", "ls", "--run", "prune-run"))).toHaveLength(5);
  });

  it("another service on the same bucket, with an index of its own rebuilt from the bucket, sees the pin", async () => {
    const other = await startServe([], { O3ML_ENDPOINT: ready.endpoint });
    try {
      const rebuilt = await run(["index", "rebuild"], other.env());
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
      const r = await run(["ckpt", "prune", "--run", "prune-run", "--keep-last", "1", "--dry-run", "--json"], other.env());
      expect(r.code, r.stderr).toBe(0);
      expect(reasonsOf(JSON.parse(r.stdout))[key(2)]).toEqual(["pinned"]);
    } finally {
      await other.stop();
      rmSync(other.home, { recursive: true, force: true });
    }
  });

  it("prunes through the deletion path: tombstones at the keys, the checkpoints deleted, the newest, pinned and resumed-from kept", async () => {
    const out = await json("ckpt", "prune", "--run", "prune-run", "--keep-last", "1", "--keep-best", "1:val_loss:min");
    expect(out.dryRun).toBe(false);
    expect(keys(out.removed)).toEqual([key(3)]);
    expect(out.removed[0].state).toBe("deleted");
    expect(keys(await json("ckpt", "ls", "--run", "prune-run"))).toEqual([key(0), key(1), key(2), key(4)]);
    // The key reads as deleted, as after 'o3ml rm'; the checkpoint is still known, as deleted, until gc.
    await expect(objects.stat(key(3))).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await json("ckpt", "show", saved[3]!.cid)).state).toBe("deleted");

    // Unpinned, only the rule keeps anything: with best-by-metric alone, the newest still stays.
    expect(await json("ckpt", "unpin", saved[2]!.cid)).toMatchObject({ key: key(2), pinned: false });
    const best = await json("ckpt", "prune", "--run", "prune-run", "--keep-best", "1:val_loss:min");
    expect(keys(best.removed)).toEqual([key(2)]);
    expect(reasonsOf(best)).toEqual({
      [key(0)]: ["resumed from by run child-run"],
      [key(1)]: ["best 1 by val_loss (min)"],
      [key(4)]: ["newest"],
    });
    expect(keys(await json("ckpt", "ls", "--run", "prune-run"))).toEqual([key(0), key(1), key(4)]);
    expect((await json("ckpt", "ls", "--run", "child-run")).map((c: { id: string }) => c.id)).toEqual([child.cid]);
  });

  it("refuses to pin a deleted checkpoint", async () => {
    const r = await o3ml("ckpt", "pin", saved[3]!.cid);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("was deleted, so there is nothing to pin");
  });
});
