import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient, CheckpointClient, DatasetClient, MetadataClient, ServiceClient } from "@o3ml/client";
import { cidOf } from "@o3ml/integrity";
import { minioBinary, startMinio, startMoto, type S3Server } from "@o3ml/standin";
import { startE2eService, type E2eService } from "../e2e-service.test-support.js";
import { blobKey, manifestKey } from "@o3ml/repository";
import { o3ml } from "../metadata/lineage-e2e.test-support.js";

/**
 * `o3ml dataset rm` end to end: a deleted version is gone from listings,
 * reads and the rebuilt index; gc reclaims only the shards no other version
 * names; a version a kept checkpoint was trained on is refused without force.
 */
const servers: [string, () => Promise<S3Server>][] = [["moto", () => startMoto()]];
const minio = minioBinary();
if (minio.path) servers.push(["minio", () => startMinio({ binary: minio.path })]);
else if (process.env.CI === "true") throw new Error(`MinIO is required in CI: ${minio.reason}`);

async function* once(bytes: Uint8Array) {
  yield bytes;
}
async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error("expected a failure");
}

describe.each(servers)("dataset version deletion on %s", { timeout: 240_000 }, (_name, startS3) => {
  let e: E2eService;
  let ds: DatasetClient;
  let ckpt: CheckpointClient;
  let meta: MetadataClient;
  let objects: ServiceClient;
  let admin: AdminClient;

  beforeAll(async () => {
    e = await startE2eService({ s3: startS3 });
    ds = new DatasetClient(e.svc.address);
    ckpt = new CheckpointClient(e.svc.address);
    meta = new MetadataClient(e.svc.address);
    objects = new ServiceClient(e.svc.address);
    admin = new AdminClient(e.svc.address);
  }, 120_000);
  afterAll(async () => {
    for (const c of [ds, ckpt, meta, objects, admin]) c?.close();
    await e?.stop();
  });

  const shard = async (bytes: Uint8Array) => {
    const cid = cidOf(bytes);
    await ds.putBlob(cid, bytes.length, once(bytes));
    return { cid, size: bytes.length, split: "train", samples: [{ key: cid.slice(-8), offset: 0, size: bytes.length }] };
  };
  const version = (name: string, v: string, shards: Awaited<ReturnType<typeof shard>>[]) => ds.commit({ name, version: v, shards, schema: { sourceKind: "files", fields: ["bin"] } });
  const trainOn = async (run: string, datasetCid: string) => {
    const r = await meta.registerRun({ name: run, hyperparameters: {}, codeCommit: null, codeDirty: null, host: null });
    const key = `runs/${run}/step=1.ckpt`;
    const saved = await ckpt.save({ key, run: r.id, step: 1, epoch: 0, metrics: {}, datasetCid, parentCid: "" }, [{ name: "data.pkl", kind: "skeleton", data: randomBytes(300) }]);
    return { key, id: saved.cid };
  };
  const stored = async (key: string) => (await e.svc.store.head(key)) !== undefined;

  it("deletes a version: unlisted, unreadable, still deleted after an index rebuild; gc reclaims only its unshared shards", async () => {
    const name = "del/digits";
    const shared = await shard(randomBytes(5000));
    const own = await shard(randomBytes(3000));
    const other = await shard(randomBytes(2000));
    const v1 = await version(name, "v1", [shared, own]);
    const v2 = await version(name, "v2", [shared, other]);
    const used = await trainOn("del-digits-run", v1.cid);

    const refused = await failure(ds.delete(name, "v1"));
    expect(refused.code).toBe("FAILED_PRECONDITION");
    expect(refused.message).toContain(used.id);
    expect(refused.message).toContain("--force");
    expect((await ds.resolve(`${name}@v1`)).info.cid).toBe(v1.cid);

    // Once the checkpoint is deleted nothing kept names the version.
    await objects.delete(used.key);
    expect(await ds.delete(name, "v1")).toMatchObject({ name, version: "v1", cid: v1.cid });
    expect((await failure(ds.resolve(`${name}@v1`))).code).toBe("NOT_FOUND");
    expect((await failure(ds.delete(name, "v1"))).code).toBe("NOT_FOUND");
    expect((await ds.list(name)).map((v) => v.version)).toEqual(["v2"]);
    expect((await ds.resolve(name)).info.cid).toBe(v2.cid);

    await meta.rebuildIndex();
    expect((await e.svc.metadata.index.listDatasetVersions(name)).map((v) => v.version)).toEqual(["v2"]);
    expect((await ds.list(name)).map((v) => v.version)).toEqual(["v2"]);

    await admin.collectGarbage({ graceSeconds: 0 });
    expect(await stored(manifestKey(v1.cid))).toBe(false);
    expect(await stored(blobKey(own.cid))).toBe(false);
    for (const kept of [shared, other]) expect(await stored(blobKey(kept.cid))).toBe(true);
    expect(await stored(manifestKey(v2.cid))).toBe(true);
    const { manifest } = await ds.resolve(`${name}@v2`);
    for (const s of manifest.shards) {
      const bytes: Buffer[] = [];
      for await (const b of ds.getBlob(s.cid, { fromStore: true })) bytes.push(Buffer.from(b));
      expect(cidOf(Buffer.concat(bytes))).toBe(s.cid);
    }
  });

  it("deletes a version a kept checkpoint names only with force, and the checkpoint stays readable", async () => {
    const name = "del/forced";
    const v = await version(name, "v1", [await shard(randomBytes(1500))]);
    const used = await trainOn("del-forced-run", v.cid);
    expect((await failure(ds.delete(name, "v1"))).code).toBe("FAILED_PRECONDITION");
    expect(await ds.delete(name, "v1", true)).toMatchObject({ version: "v1" });
    expect(await ds.list(name)).toEqual([]);
    expect((await ckpt.stat(used.key)).cid).toBe(used.id);
  });

  it("o3ml dataset rm needs name@version and reports what it deleted", async () => {
    const name = "del/cli";
    await version(name, "v1", [await shard(randomBytes(700))]);
    const env = { O3ML_SERVICE: e.svc.address, O3ML_HOME: e.home };
    const bare = await o3ml(["dataset", "rm", name], env);
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain(`${name}@<version>`);
    const done = await o3ml(["dataset", "rm", `${name}@v1`, "--json"], env);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ name, version: "v1", deleted: true });
    expect(await ds.list(name)).toEqual([]);
  });
});
