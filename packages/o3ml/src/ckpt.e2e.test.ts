import { mkdtempSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointClient } from "@o3ml/client";
import { blobKey } from "@o3ml/repository";
import { cidOf } from "@o3ml/integrity";
import { createBlobStore } from "@o3ml/o3-client";
import { checkTorchLoads, torchSaveEntries, torchUnavailable } from "../../../services/storage/src/checkpoints/torch-fixture.test-support.js";
import { o3ml as run, startServe, type Served } from "../../cli/src/cli.test-support.js";

/**
 * `o3ml ckpt ...` and `o3ml gc` as a user runs them: `node packages/o3ml/bin/o3ml.js`
 * against `o3ml serve` (the embedded stand-in), checkpoints written the way
 * the Python side writes them (torch.save's own data.pkl and storages).
 */
const missing = torchUnavailable();
if (missing && process.env.CI === "true") throw new Error(`torch is required in CI: ${missing}`);
if (missing) console.warn(`NOTICE: o3ml ckpt CLI tests skipped: ${missing}`);

describe.skipIf(!!missing)("o3ml ckpt and o3ml gc", { timeout: 180_000 }, () => {
  let ready: Served;
  let client: CheckpointClient;

  const o3ml = (...args: string[]) => run(args, ready.env());
  const json = async (...args: string[]) => {
    const r = await o3ml(...args, "--json");
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    ready = await startServe();
    client = new CheckpointClient(ready.address);
  }, 180_000);
  afterAll(async () => {
    client?.close();
    await ready?.stop();
  });

  it("lists, shows, verifies and exports a torch checkpoint that torch.load reads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "o3ml-ckpt-"));
    const entries = torchSaveEntries(dir);
    const first = await client.save({ key: "runs/cli/epoch=0.ckpt", run: "cli-run", step: 100, epoch: 0, metrics: { val_loss: 0.5 } }, entries);
    const second = await client.save({ key: "runs/cli/epoch=1.ckpt", run: "cli-run", step: 200, epoch: 1, metrics: { val_loss: 0.25 } }, entries);

    const listed = await json("ckpt", "ls", "--run", "cli-run");
    expect(listed.map((c: { key: string }) => c.key)).toEqual(["runs/cli/epoch=0.ckpt", "runs/cli/epoch=1.ckpt"]);
    const human = await o3ml("ckpt", "ls");
    expect(human.stdout).toContain("runs/cli/epoch=1.ckpt");

    const shown = await json("ckpt", "show", second.cid);
    expect(shown).toMatchObject({
      id: second.cid,
      manifestCid: second.cid,
      key: "runs/cli/epoch=1.ckpt",
      run: "cli-run",
      step: 200,
      epoch: 1,
      parentId: first.cid,
      datasetCid: null,
      metrics: { val_loss: 0.25 },
      bytesTotal: Number(second.bytesTotal),
      bytesUploaded: 0,
      bytesDeduplicated: Number(second.bytesTotal),
    });
    expect(["committed", "durable"]).toContain(shown.state);
    expect(Date.parse(shown.created)).toBeGreaterThan(0);
    expect((await json("ckpt", "show", "runs/cli/epoch=1.ckpt")).id).toBe(second.cid);

    const verified = await json("ckpt", "verify", "runs/cli/epoch=0.ckpt");
    expect(verified).toMatchObject({ verified: true, id: first.cid, bytesChecked: Number(first.bytesTotal) });

    const file = join(dir, "exported.ckpt");
    const exported = await json("ckpt", "export", second.cid, file);
    expect(exported).toMatchObject({ id: second.cid, file });
    expect(existsSync(`${file}.o3ml-partial`)).toBe(false);
    expect(checkTorchLoads(dir, file)).toMatch(/^ok /);
  });

  it("exits with the error's code: 3 for an unknown checkpoint, 5 for a corrupted one", async () => {
    const missingCkpt = await o3ml("ckpt", "show", "runs/nope.ckpt", "--json");
    expect(missingCkpt.code).toBe(3);
    expect(JSON.parse(missingCkpt.stdout).error.code).toBe("NOT_FOUND");

    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const info = await client.save({ key: "runs/cli/bad.ckpt", run: "cli-bad" }, [
      { name: "data.pkl", kind: "skeleton", data: Buffer.from("not really a pickle") },
      { name: "0", kind: "storage", dtype: "uint8", data },
    ]);
    // Blobs are 1 MiB here; all three of this storage's are the same bytes, hence one blob.
    const cid = cidOf(data.subarray(0, 1024 * 1024));
    const plain = join(mkdtempSync(join(tmpdir(), "o3ml-obj-")), "notes.txt");
    writeFileSync(plain, "a plain object beside the checkpoints");
    expect((await o3ml("put", plain, "notes/plain.txt")).code).toBe(0);
    const clean = await json("verify");
    expect(clean).toMatchObject({ ok: true, failures: [] });
    expect(clean.checkpoints).toBeGreaterThanOrEqual(1);
    expect(clean.objects).toBeGreaterThanOrEqual(1);
    expect(clean.bytesChecked).toBeGreaterThanOrEqual(data.byteLength);
    // Alter it in the embedded stand-in, whose moto server takes the stand-in's fixed local keys.
    const store = createBlobStore({ endpoint: ready.endpoint, bucket: ready.bucket, region: "akave-network", accessKeyId: "o3ml-local", secretAccessKey: "o3ml-local-secret", profile: "o3" });
    await store.put(blobKey(cid), Buffer.alloc(1024 * 1024, 8));
    store.close();
    const bad = await o3ml("ckpt", "verify", "runs/cli/bad.ckpt");
    expect(bad.code).toBe(5);
    expect(bad.stderr).toContain(cid);
    expect(bad.stderr).toContain("runs/cli/bad.ckpt");
    // The bucket-wide check lists exactly the damaged checkpoint, and still checks the rest.
    const all = await o3ml("verify", "--json");
    expect(all.code).toBe(5);
    const report = JSON.parse(all.stdout);
    expect(report.ok).toBe(false);
    expect(report.objects).toBe(clean.objects);
    expect(report.failures, JSON.stringify(report.failures)).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({ kind: "checkpoint", name: expect.stringContaining("runs/cli/bad.ckpt") });
    expect(report.failures[0].problem).toContain(cid);
    const out = join(mkdtempSync(join(tmpdir(), "o3ml-ckpt-")), "bad.pt");
    expect((await o3ml("ckpt", "export", info.cid, out)).code).toBe(5);
    expect(existsSync(out) || existsSync(`${out}.o3ml-partial`)).toBe(false);
  });

  it("collects garbage: reports, honours --dry-run and the grace period", async () => {
    const dry = await json("gc", "--dry-run", "--grace", "0");
    expect(dry.dryRun).toBe(true);
    expect(dry.live.blobs.count).toBeGreaterThan(0);
    const kept = await json("gc");
    expect(kept.deleted.blobs.count).toBe(0);
    const human = await o3ml("gc", "--grace", "0");
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^deleted \d+ blobs/);
    expect((await json("ckpt", "verify", "runs/cli/epoch=1.ckpt")).verified).toBe(true);
  });

});
