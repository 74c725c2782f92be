import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient, CheckpointClient, MetadataClient } from "@o3ml/client";
import { startE2eService, type E2eService } from "../e2e-service.test-support.js";
import { ROOT } from "@o3ml/repository";
import { o3ml } from "./lineage-e2e.test-support.js";

/**
 * `o3ml runs rm` end to end: the run and its checkpoints are listed nowhere,
 * a rebuilt index agrees, gc reclaims their blobs; refused while another
 * run's kept checkpoint was resumed from one of them, unless forced.
 */
const BLOBS = `${ROOT}blobs/`;

describe("run deletion on moto", { timeout: 240_000 }, () => {
  let e: E2eService;
  let ckpt: CheckpointClient;
  let meta: MetadataClient;
  let admin: AdminClient;

  beforeAll(async () => {
    e = await startE2eService();
    ckpt = new CheckpointClient(e.svc.address);
    meta = new MetadataClient(e.svc.address);
    admin = new AdminClient(e.svc.address);
  }, 120_000);
  afterAll(async () => {
    for (const c of [ckpt, meta, admin]) c?.close();
    await e?.stop();
  });

  const register = (name: string) => meta.registerRun({ name, hyperparameters: {}, codeCommit: null, codeDirty: null, host: null });
  const save = (run: { id: string; name: string }, step: number, parentCid = "") =>
    ckpt.save({ key: `runs/${run.name}/step=${step}.ckpt`, run: run.id, step, epoch: 0, metrics: {}, datasetCid: "", parentCid }, [
      { name: "data.pkl", kind: "skeleton", data: randomBytes(200) },
      { name: "0", kind: "storage", dtype: "float32", data: randomBytes(4096) },
    ]);
  const failure = async (p: Promise<unknown>) => p.then(() => Promise.reject(new Error("expected a failure")), (err: { code: string; message: string }) => err);

  it("deletes a run and its checkpoints: listed nowhere, still so after an index rebuild, blobs reclaimed by gc", async () => {
    const blobKeys = async () => {
      const keys = new Set<string>();
      for await (const o of e.svc.store.list(BLOBS)) keys.add(o.key);
      return keys;
    };
    const keep = await register("rm-other");
    const other = await save(keep, 1);
    const keptBlobs = await blobKeys();
    const run = await register("rm-baseline");
    const saved = [await save(run, 1), await save(run, 2)];
    // Random tensors: every blob the run's checkpoints added is theirs alone.
    const deletedBlobs = [...(await blobKeys())].filter((k) => !keptBlobs.has(k));
    expect(deletedBlobs.length).toBeGreaterThan(0);

    const done = await meta.deleteRun("rm-baseline");
    expect(done.run.id).toBe(run.id);
    expect(done.checkpointIds.sort()).toEqual(saved.map((c) => c.cid).sort());
    const gone = async () => {
      expect((await meta.listRuns()).map((r) => r.name)).not.toContain("rm-baseline");
      expect((await failure(meta.getRun(run.id))).code).toBe("NOT_FOUND");
      expect((await ckpt.list()).map((c) => c.cid)).toEqual([other.cid]);
      for (const c of saved) expect((await failure(ckpt.stat(c.key))).code).toBe("NOT_FOUND");
    };
    await gone();
    await meta.rebuildIndex();
    await gone();

    await admin.collectGarbage({ graceSeconds: 0 });
    for (const k of deletedBlobs) expect(await e.svc.store.head(k)).toBeUndefined();
    for (const k of keptBlobs) expect(await e.svc.store.head(k)).toBeDefined();
    expect((await ckpt.loadAll(other.key)).info.cid).toBe(other.cid);
  });

  it("refuses while another run's kept checkpoint was resumed from it, unless forced, through the CLI", async () => {
    const base = await register("rm-base");
    const parent = await save(base, 1);
    const tune = await register("rm-tune");
    const child = await save(tune, 2, parent.cid);
    const env = { O3ML_SERVICE: e.svc.address, O3ML_HOME: e.home };

    const refused = await o3ml(["runs", "rm", "rm-base"], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(child.cid);
    expect(refused.stderr).toContain("--force");
    expect((await meta.getRun("rm-base")).id).toBe(base.id);

    const forced = await o3ml(["runs", "rm", "rm-base", "--force", "--json"], env);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ id: base.id, deleted: true, checkpointIds: [parent.cid] });
    expect((await ckpt.stat(child.key)).cid).toBe(child.cid);
  });
});
