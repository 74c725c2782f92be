import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointClient, MetadataClient } from "@o3ml/client";
import { startMinio, type S3Server } from "@o3ml/standin";
import { allBackends, mustRun, type Backend } from "../../metadata/src/index-backends.test-support.js";
import { cleanEnv, o3ml, seedHistory, startServe, type History, type Served } from "./cli.test-support.js";

/**
 * The metadata index belongs to one store. `o3ml serve` processes in front
 * of a real MinIO, one after another with the same O3ML_HOME (and, on
 * PostgreSQL, the same O3ML_DATABASE_URL), as a user switching O3ML_BUCKET.
 */
describe.each(allBackends().filter(mustRun))("one O3ML_HOME, several stores, index on $name", { timeout: 600_000 }, (backend: Backend) => {
  let minio: S3Server;
  let indexEnv: Record<string, string>;
  const running: Served[] = [];

  beforeAll(async () => {
    await backend.start();
    minio = await startMinio();
    const { databaseUrl } = await backend.fresh();
    indexEnv = databaseUrl ? { O3ML_DATABASE_URL: databaseUrl } : {};
  }, 240_000);
  afterAll(async () => {
    for (const s of running) await s.stop().catch(() => undefined);
    await minio?.stop();
    await backend.stop();
  }, 120_000);

  const storeEnv = (bucket: string) => ({
    O3ML_ENDPOINT: minio.endpoint,
    O3ML_REGION: minio.region,
    O3ML_ACCESS_KEY_ID: minio.accessKeyId,
    O3ML_SECRET_ACCESS_KEY: minio.secretAccessKey,
    O3ML_BUCKET: bucket,
  });
  const serve = async (bucket: string, home: string): Promise<Served> => {
    const s = await startServe(["--create-bucket"], { ...storeEnv(bucket), ...indexEnv }, home);
    running.push(s);
    return s;
  };
  const stop = async (s: Served) => {
    running.splice(running.indexOf(s), 1);
    await s.stop();
  };
  const ok = async (s: Served, ...args: string[]) => {
    const r = await o3ml(args, s.env());
    expect(r.code, `o3ml ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const json = async (s: Served, ...args: string[]) => JSON.parse(await ok(s, ...args, "--json")) as unknown;
  /** What a user sees of a history: runs, checkpoints, datasets, and the whole lineage of the newest checkpoint. */
  const views = async (s: Served, h: History) => ({
    runs: await json(s, "runs", "ls"),
    checkpoints: await json(s, "ckpt", "ls"),
    datasets: await json(s, "dataset", "ls"),
    lineage: await ok(s, "lineage", h.checkpoints[1]!.cid, "--format", "json", "--depth", "all"),
  });

  it("Switching O3ML_BUCKET with one O3ML_HOME shows each bucket only its own runs, checkpoints and lineage", async () => {
    const home = mkdtempSync(join(tmpdir(), "o3ml-switch-home-"));
    const [bucketA, bucketB] = [`o3ml-a-${randomBytes(3).toString("hex")}`, `o3ml-b-${randomBytes(3).toString("hex")}`];

    let s = await serve(bucketA, home);
    const a = await seedHistory(s);
    const seenInA = await views(s, a);
    expect((seenInA.runs as unknown[]).length).toBe(2);
    expect((seenInA.checkpoints as unknown[]).length).toBe(2);
    await stop(s);

    // Bucket B, same home: none of A's records, by listing, id or name.
    s = await serve(bucketB, home);
    expect(await json(s, "runs", "ls")).toEqual([]);
    expect(await json(s, "ckpt", "ls")).toEqual([]);
    expect(await json(s, "dataset", "ls")).toEqual([]);
    for (const args of [
      ["lineage", a.checkpoints[1]!.cid],
      ["runs", "show", "mnist-baseline"],
      ["runs", "show", a.baselineId],
    ]) {
      const r = await o3ml(args, s.env());
      expect(r.code, `o3ml ${args.join(" ")} in bucket B: ${r.stdout}`).not.toBe(0);
      expect(r.stderr).toContain("NOT_FOUND");
    }

    // A run of the same name in B is B's own, and its checkpoint takes no parent from A's.
    const meta = new MetadataClient(s.address);
    const ckpt = new CheckpointClient(s.address);
    let runB: string;
    let checkpointB: string;
    try {
      runB = (await meta.registerRun({ name: "mnist-baseline" })).id;
      expect(runB).not.toBe(a.baselineId);
      const saved = await ckpt.save({ key: "runs/mnist-baseline/step=30.ckpt", run: runB, step: 30, epoch: 3, metrics: { val_loss: 0.2 } }, [
        { name: "data.pkl", kind: "skeleton", data: randomBytes(200) },
        { name: "0", kind: "storage", dtype: "float32", data: randomBytes(32 * 1024) },
      ]);
      checkpointB = saved.cid!;
      expect(saved.parentCid).toBe("");
    } finally {
      meta.close();
      ckpt.close();
    }
    expect((await json(s, "runs", "ls")) as { id: string }[]).toEqual([expect.objectContaining({ id: runB, name: "mnist-baseline" })]);
    expect((await json(s, "ckpt", "ls")) as unknown[]).toEqual([expect.objectContaining({ id: checkpointB, run: runB, parentId: null })]);
    const lineageB = JSON.parse(await ok(s, "lineage", checkpointB, "--format", "json", "--depth", "all")) as { nodes: { id: string }[] };
    expect(lineageB.nodes.map((n) => n.id).sort()).toEqual([`checkpoint:${checkpointB}`, `run:${runB}`].sort());
    await stop(s);

    // Back to A: everything as it was, and a rebuild there rebuilds A's records only.
    s = await serve(bucketA, home);
    expect(await views(s, a)).toEqual(seenInA);
    const rebuilt = (await json(s, "index", "rebuild")) as { counts: Record<string, number> };
    expect(rebuilt.counts).toMatchObject({ runs: 2, checkpoints: 2, datasetVersions: 1 });
    expect(await views(s, a)).toEqual(seenInA);
    await stop(s);

    s = await serve(bucketB, home);
    expect(((await json(s, "runs", "ls")) as { id: string }[]).map((r) => r.id)).toEqual([runB]);
    await stop(s);

    // So does a rebuild with no service: B's records are rebuilt, A's stay as they were.
    const offline = await o3ml(["index", "rebuild", "--offline", "--json"], cleanEnv(home, { ...storeEnv(bucketB), ...indexEnv }));
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout)).toMatchObject({ counts: { runs: 1, checkpoints: 1, datasets: 0 } });
    s = await serve(bucketA, home);
    expect(await views(s, a)).toEqual(seenInA);
    await stop(s);
  });

  it("keeps no record of the embedded stand-in once it stops: its index lives in memory", async () => {
    const home = mkdtempSync(join(tmpdir(), "o3ml-standin-home-"));
    const { databaseUrl } = await backend.fresh();
    const env: Record<string, string> = databaseUrl ? { O3ML_DATABASE_URL: databaseUrl } : {};
    let s = await startServe(["--standin"], env, home);
    running.push(s);
    const first = await seedHistory(s);
    expect(((await json(s, "runs", "ls")) as unknown[]).length).toBe(2);
    await stop(s);

    // The next stand-in starts empty, whatever port it gets: none of the last one's records.
    s = await startServe(["--standin"], env, home);
    running.push(s);
    expect(await json(s, "runs", "ls")).toEqual([]);
    expect(await json(s, "ckpt", "ls")).toEqual([]);
    expect((await o3ml(["lineage", first.checkpoints[0]!.cid], s.env())).stderr).toContain("NOT_FOUND");
    await stop(s);

    // Neither O3ML_HOME nor the configured database ever held an index of it.
    expect(existsSync(join(home, "index.sqlite"))).toBe(false);
    if (databaseUrl) {
      const db = backend.connect({ databaseUrl, store: "" });
      try {
        expect(await db.introspection.getTables()).toEqual([]);
      } finally {
        await db.destroy();
      }
    }
  });
});
