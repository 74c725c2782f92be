import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointClient } from "@o3ml/client";
import { o3ml, seedHistory, startServe, type History, type Served } from "./cli.test-support.js";

/**
 * A run or dataset name that does not exist fails with NOT_FOUND (exit 3)
 * and the nearest names that do, wherever a command takes one; never an
 * empty answer that looks like success.
 */
describe("names that do not exist", { timeout: 240_000 }, () => {
  let served: Served;
  let seeded: History;
  const cli = (...args: string[]) => o3ml(args, served.env());

  beforeAll(async () => {
    served = await startServe();
    seeded = await seedHistory(served);
    // A checkpoint may name a run no one registered (services/storage/src/checkpoints/checkpoint-info.ts).
    const ckpt = new CheckpointClient(served.address);
    try {
      await ckpt.save({ key: "loose/step=1.ckpt", run: "loose-run", step: 1 }, [{ name: "data.pkl", kind: "skeleton", data: Buffer.from("x") }]);
    } finally {
      ckpt.close();
    }
  });
  afterAll(async () => {
    await served?.stop();
  });

  it("ckpt ls --run: NOT_FOUND with the nearest runs; a run without checkpoints lists none", async () => {
    const typo = await cli("ckpt", "ls", "--run", "mnist-basline");
    expect(typo.code).toBe(3);
    expect(typo.stdout).toBe("");
    expect(typo.stderr).toBe("o3ml: NOT_FOUND: no run mnist-basline (did you mean 'mnist-baseline'?); `o3ml runs ls` lists them\n");
    const far = await cli("ckpt", "ls", "--run", "zzz", "--json");
    expect(far.code).toBe(3);
    expect(JSON.parse(far.stdout)).toMatchObject({ error: { code: "NOT_FOUND", message: "no run zzz; `o3ml runs ls` lists them" } });
    const part = await cli("ckpt", "ls", "--run", "mnist");
    expect(part.stderr).toContain("(did you mean 'mnist-baseline' or 'mnist-finetune'?)");

    const none = await cli("ckpt", "ls", "--run", "mnist-finetune");
    expect(none).toMatchObject({ code: 0, stdout: "(no checkpoints)\n" });
    for (const run of ["mnist-baseline", seeded.baselineId]) {
      const listed = await cli("ckpt", "ls", "--run", run, "--json");
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout).map((c: { id: string }) => c.id)).toEqual(seeded.checkpoints.map((c) => c.cid));
    }
    const loose = await cli("ckpt", "ls", "--run", "loose-run", "--json");
    expect(JSON.parse(loose.stdout)).toHaveLength(1);
  });

  it("runs show and lineage: NOT_FOUND with the nearest runs and dataset versions", async () => {
    const run = await cli("runs", "show", "mnist-finetuen");
    expect(run.code).toBe(3);
    expect(run.stderr).toBe("o3ml: NOT_FOUND: no run mnist-finetuen in the metadata index; `o3ml runs ls` lists the known runs (did you mean 'mnist-finetune'?)\n");
    const lineage = await cli("lineage", "mnist-baselin");
    expect(lineage.code).toBe(3);
    expect(lineage.stderr).toContain("(did you mean 'mnist-baseline'?)");
    const version = await cli("lineage", "digits@v2", "--format", "json");
    expect(version.code).toBe(3);
    expect(JSON.parse(version.stdout).error.message).toContain("(did you mean 'digits@v1'?)");
    // Nothing near: the service's own message, unchanged.
    const far = await cli("lineage", "no-such-thing");
    expect(far.code).toBe(3);
    expect(far.stderr).not.toContain("did you mean");
  });

  it("dataset show, pull and verify: NOT_FOUND with the nearest datasets", async () => {
    for (const args of [["show", "digts"], ["pull", "digts", join(mkdtempSync(join(tmpdir(), "o3ml-pull-")), "out")], ["verify", "digts"]]) {
      const r = await cli("dataset", ...args);
      expect(r.code, args.join(" ")).toBe(3);
      expect(r.stderr, args.join(" ")).toMatch(/^o3ml: NOT_FOUND: no dataset digts; .*\(did you mean 'digits'\?\)\n$/);
    }
    const version = await cli("dataset", "show", "digits@v3");
    expect(version.code).toBe(3);
    expect(version.stderr).toContain("(did you mean 'digits@v1'?)");
    expect((await cli("dataset", "show", "digits@latest")).code).toBe(0);
  });
});
