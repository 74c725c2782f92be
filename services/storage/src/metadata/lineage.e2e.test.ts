import { readdirSync, rmSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointClient, MetadataClient } from "@o3ml/client";
import { eventKey, newEventId, refPrefix } from "@o3ml/repository";
import { startMoto, type S3Server } from "@o3ml/standin";
import { parseMermaid } from "../../../../packages/metadata/src/mermaid-check.test-support.js";
import type { RunningService } from "../server.js";
import { configFor, o3ml, seedTraining, serviceAt, storeEnv, tempHome, type Seeded } from "./lineage-e2e.test-support.js";

/**
 * Metadata and lineage end to end: the real service over moto, driven
 * through the `o3ml` command in child processes. Every test has its own
 * bucket and O3ML_HOME.
 */
describe("runs, lineage and index rebuild through the o3ml command", { timeout: 300_000 }, () => {
  let s3: S3Server;
  const running: RunningService[] = [];
  const bucketName = () => `o3ml-lineage-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const start = async (bucket: string, home: string) => {
    const svc = await serviceAt(configFor(s3, bucket), home);
    running.push(svc);
    return svc;
  };
  const stop = async (svc: RunningService) => {
    running.splice(running.indexOf(svc), 1);
    await svc.stop();
  };
  const cli = (svc: RunningService, ...args: string[]) => o3ml(args, { O3ML_SERVICE: svc.address });
  const ok = async (svc: RunningService, ...args: string[]) => {
    const r = await cli(svc, ...args);
    expect(r.code, `o3ml ${args.join(" ")}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  /** What a user sees of the index: the runs and the lineage of every run and checkpoint, as JSON. */
  const views = async (svc: RunningService, seeded: Seeded) => ({
    runs: await ok(svc, "runs", "ls", "--json"),
    lineage: await Promise.all([seeded.runId, seeded.finetuneId, ...seeded.checkpoints].map((id) => ok(svc, "lineage", id, "--format", "json"))),
    show: await ok(svc, "runs", "show", seeded.runId, "--json"),
  });

  beforeAll(async () => {
    s3 = await startMoto();
  }, 120_000);
  afterAll(async () => {
    for (const svc of running) await svc.stop().catch(() => undefined);
    await s3?.stop();
  }, 120_000);

  it("answers what produced a checkpoint: run, code, hyperparameters, environment, data, parent; and the bytes verify", async () => {
    const svc = await start(bucketName(), tempHome());
    const seeded = await seedTraining(svc);
    const [c1, c2, c3] = seeded.checkpoints as [string, string, string];
    const graph = JSON.parse(await ok(svc, "lineage", c2, "--format", "json")) as { focus: string; nodes: { id: string; label: string }[]; edges: { from: string; to: string; relation: string }[] };
    expect(graph.focus).toBe(`checkpoint:${c2}`);
    expect(graph.edges).toEqual(
      expect.arrayContaining([
        { from: `run:${seeded.runId}`, to: `checkpoint:${c2}`, relation: "produced" },
        { from: `dataset-version:${seeded.datasetCid}`, to: `checkpoint:${c2}`, relation: "trained-on" },
        { from: `checkpoint:${c1}`, to: `checkpoint:${c2}`, relation: "parent" },
        { from: `checkpoint:${c2}`, to: `checkpoint:${c3}`, relation: "parent" },
      ]),
    );
    const run = JSON.parse(await ok(svc, "runs", "show", seeded.runId, "--json")) as Record<string, unknown>;
    expect(run).toMatchObject({
      name: "mnist-baseline",
      codeCommit: "3f2c1e9a7b6d5c4e3f2a1b0c9d8e7f6a5b4c3d2e",
      codeDirty: true,
      hyperparameters: { lr: 0.001, layers: [64, 32], optimizer: "adam" },
      packages: { torch: "2.13.0", lightning: "2.6.6", python: "3.11.2" },
      host: "trainer-1",
    });
    expect((run.checkpoints as { id: string }[]).map((c) => c.id)).toEqual([c1, c2]);
    expect(run.checkpoints).toEqual([
      expect.objectContaining({ state: "committed", datasetVersionCid: seeded.datasetCid, parentId: null, durableAt: null, deletedAt: null }),
      expect.objectContaining({ step: 20, epoch: 2, parentId: c1, metrics: { loss: 1 / 21 } }),
    ]);
    // A checkpoint's object key stands for the checkpoint stored there.
    expect(await ok(svc, "lineage", `runs/${seeded.runId}/step=20.ckpt`, "--format", "json")).toBe(await ok(svc, "lineage", c2, "--format", "json"));
    // Both runs are in the lineage only beyond the default depth of one edge.
    const text = await ok(svc, "lineage", c3, "--depth", "all");
    for (const part of ["run mnist-finetune", "dataset mnist@", "checkpoint step 20", "artifact model.onnx", "parent:", "trained-on:"]) expect(text).toContain(part);
    // The text form ends with how each run in the lineage was set up.
    expect(text).toContain("code commit      3f2c1e9a7b6d5c4e3f2a1b0c9d8e7f6a5b4c3d2e (with uncommitted changes)");
    expect(text).toContain('hyperparameters  {"lr":0.001,"layers":[64,32],"optimizer":"adam"}');
    expect(text).toContain("environment      torch 2.13.0, lightning 2.6.6, python 3.11.2 on trainer-1");
    expect(text).toContain(`mnist-finetune · ${seeded.finetuneId}\n    code commit      unknown`);
    // The checkpoint's id is the manifest CID the lineage names: re-hashing its bytes proves them.
    const ckpt = new CheckpointClient(svc.address);
    try {
      const verified = await ckpt.verify(c2);
      expect(verified.info.cid).toBe(c2);
      expect(Number(verified.bytesChecked)).toBeGreaterThan(0);
    } finally {
      ckpt.close();
    }
    const human = await ok(svc, "runs", "ls");
    expect(human).toMatch(/^mnist-baseline\s+\S+\s+3f2c1e9a7b6d \(uncommitted changes\)\s+trainer-1\s+\S+$/m);
    await stop(svc);
  });

  it("recreates a dropped index from the bucket alone, through the service and offline, identically", async () => {
    const bucket = bucketName();
    const home = tempHome();
    let svc = await start(bucket, home);
    const seeded = await seedTraining(svc);
    const before = await views(svc, seeded);
    expect(JSON.parse(before.runs)).toHaveLength(2);
    await stop(svc);

    for (const f of readdirSync(home)) if (f.startsWith("index.sqlite")) rmSync(join(home, f));
    svc = await start(bucket, home);
    expect(JSON.parse(await ok(svc, "runs", "ls", "--json"))).toEqual([]);
    const rebuilt = JSON.parse(await ok(svc, "index", "rebuild", "--json")) as Record<string, unknown>;
    expect(rebuilt).toMatchObject({ skipped: 0, warnings: [], counts: { runs: 2, checkpoints: 3, artifacts: 1, datasetVersions: 1 } });
    expect(await views(svc, seeded)).toEqual(before);
    await stop(svc);

    const offlineHome = tempHome();
    const offline = await o3ml(["index", "rebuild", "--offline", "--json"], { ...storeEnv(s3, bucket), O3ML_HOME: offlineHome });
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout)).toMatchObject({ offline: true, skipped: 0, counts: { runs: 2, checkpoints: 3 }, location: expect.stringContaining(offlineHome) });
    svc = await start(bucket, offlineHome);
    expect(await views(svc, seeded)).toEqual(before);
    await stop(svc);
  });

  it("lists no checkpoint whose event landed but whose ref did not, after a rebuild through the service or offline", async () => {
    const bucket = bucketName();
    let svc = await start(bucket, tempHome());
    const seeded = await seedTraining(svc);
    const ckpt = new CheckpointClient(svc.address);
    try {
      await ckpt.save({ key: "runs/stopped.ckpt", run: seeded.runId, step: 40, epoch: 4, metrics: {} }, [{ name: "data.pkl", kind: "skeleton", data: new Uint8Array(300) }]);
    } finally {
      ckpt.close();
    }
    // The bucket as a save stopped between its event and its ref (the commit point) leaves it.
    const refs: string[] = [];
    for await (const o of svc.store.list(refPrefix("objects", "runs/stopped.ckpt"))) refs.push(o.key);
    expect(refs).toHaveLength(1);
    await svc.store.delete(refs[0]!);
    const listed = async (s: RunningService) => (JSON.parse(await ok(s, "ckpt", "ls", "--json")) as { key: string }[]).map((c) => c.key).sort();
    const committed = (await listed(svc)).filter((key) => key !== "runs/stopped.ckpt");
    expect(committed).toHaveLength(3);

    await ok(svc, "index", "rebuild");
    expect(await listed(svc)).toEqual(committed);
    await stop(svc);

    const offlineHome = tempHome();
    const offline = await o3ml(["index", "rebuild", "--offline", "--json"], { ...storeEnv(s3, bucket), O3ML_HOME: offlineHome });
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout)).toMatchObject({ unlanded: 1, counts: { checkpoints: 3 } });
    svc = await start(bucket, offlineHome);
    expect(await listed(svc)).toEqual(committed);
    await stop(svc);
  });

  it("skips a malformed object in the log with a warning naming its key, and keeps every good event", async () => {
    const svc = await start(bucketName(), tempHome());
    const seeded = await seedTraining(svc);
    const before = await views(svc, seeded);
    const garbage = eventKey(newEventId());
    const stray = "o3ml/v1/log/notes.txt";
    await svc.store.put(garbage, new TextEncoder().encode("this is not MessagePack \u00c1\u0000\u00ff"));
    await svc.store.put(stray, new TextEncoder().encode("hello"));
    const human = await cli(svc, "index", "rebuild");
    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr).toContain(garbage);
    expect(human.stderr).toContain(stray);
    expect(human.stdout).toContain("2 skipped as malformed");
    const machine = JSON.parse(await ok(svc, "index", "rebuild", "--json")) as { skipped: number; warnings: string[] };
    expect(machine.skipped).toBe(2);
    expect(machine.warnings.some((w) => w.includes(garbage))).toBe(true);
    expect(machine.warnings.some((w) => w.includes(stray))).toBe(true);
    expect(await views(svc, seeded)).toEqual(before);
    await stop(svc);
  });

  it("rebuilds while the service records: readers never see a partial index, and nothing written meanwhile is lost", async () => {
    const svc = await start(bucketName(), tempHome());
    await seedTraining(svc);
    const meta = new MetadataClient(svc.address);
    try {
      const initial = (await meta.listRuns()).length;
      let rebuilding = true;
      const sizes = new Set<number>();
      const watcher = (async () => {
        while (rebuilding) sizes.add((await meta.listRuns()).length);
      })();
      const writes = (async () => {
        const ids: string[] = [];
        while (rebuilding || ids.length < 5) ids.push((await meta.registerRun({ name: `during-${ids.length}` })).id);
        return ids;
      })();
      const rebuild = await meta.rebuildIndex();
      rebuilding = false;
      const written = await writes;
      await watcher;
      expect(Number(rebuild.skipped)).toBe(0);
      expect(Math.min(...sizes), `run counts seen during the rebuild: ${[...sizes].join(", ")}`).toBeGreaterThanOrEqual(initial);
      const ids = (await meta.listRuns()).map((r) => r.id);
      expect(ids).toEqual(expect.arrayContaining(written));
      expect(ids).toHaveLength(initial + written.length);
      let logged = 0;
      for await (const _ of svc.store.list("o3ml/v1/log/")) logged++;
      const again = await meta.rebuildIndex();
      expect(Number(again.counts?.events)).toBe(logged);
      expect((await meta.listRuns()).map((r) => r.id)).toEqual(ids);
    } finally {
      meta.close();
    }
    await stop(svc);
  });

  it("draws lineage Mermaid reads as meant, even for names full of markup", async () => {
    const svc = await start(bucketName(), tempHome());
    const seeded = await seedTraining(svc, ' "#1" <b>[x]</b> {y} (z) `q` & |');
    for (const id of [seeded.runId, seeded.checkpoints[2]!, seeded.datasetCid]) {
      // The whole graph: the baseline run is more than one edge from the fine-tuned checkpoint.
      const mermaid = await ok(svc, "lineage", id, "--format", "mermaid", "--depth", "all");
      const json = JSON.parse(await ok(svc, "lineage", id, "--format", "json", "--depth", "all")) as { nodes: { label: string }[]; edges: unknown[] };
      const parsed = parseMermaid(mermaid);
      expect(parsed.nodes.size).toBe(json.nodes.length);
      expect(parsed.edges).toHaveLength(json.edges.length);
      expect([...parsed.nodes.values()].some((label) => label.includes('mnist-baseline "#1" <b>[x]</b> {y} (z) `q` & |'))).toBe(true);
    }
    const dot = await ok(svc, "lineage", seeded.runId, "--format", "dot");
    expect(dot).toMatch(/^digraph lineage \{/);
    await stop(svc);
  });

  it("reports unknown ids as NOT_FOUND with what to do, and exit code 3", async () => {
    const svc = await start(bucketName(), tempHome());
    await seedTraining(svc);
    const lineage = await cli(svc, "lineage", "no-such-run");
    expect(lineage.code).toBe(3);
    expect(lineage.stdout).toBe("");
    expect(lineage.stderr).toBe(
      "o3ml: NOT_FOUND: no run, checkpoint, artifact or dataset version no-such-run in the metadata index, and no object with that key; " +
        "give a run id or name, a checkpoint id or key, an artifact id, a manifest CID, or a dataset version as name@version " +
        "(`o3ml runs ls`, `o3ml ckpt ls` and `o3ml dataset ls` list them)\n",
    );
    const dataset = await cli(svc, "lineage", "mnist@01ARZ3NDEKTSV4RRFFQ69G5FAV");
    expect(dataset.code).toBe(3);
    expect(dataset.stderr).toContain("mnist@01ARZ3NDEKTSV4RRFFQ69G5FAV");
    const run = await cli(svc, "runs", "show", "nope");
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("no run nope in the metadata index; `o3ml runs ls` lists the known runs");
    const machine = await cli(svc, "lineage", "nope", "--format", "json");
    expect(machine.code).toBe(3);
    expect(JSON.parse(machine.stdout)).toMatchObject({ error: { code: "NOT_FOUND" } });
    const badFormat = await cli(svc, "lineage", "nope", "--format", "svg");
    expect(badFormat.code).not.toBe(0);
    expect(badFormat.stderr).toContain("text, mermaid, dot, json");
    const meta = new MetadataClient(svc.address);
    try {
      await expect(meta.getCheckpoint("bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")).rejects.toMatchObject({ code: "NOT_FOUND", message: expect.stringContaining("o3ml ckpt ls") });
      await expect(meta.registerRun({ name: "" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    } finally {
      meta.close();
    }
    await stop(svc);
  });

  it("rebuild --offline moves a damaged index file aside and rebuilds the bucket's records in a new one", async () => {
    const bucket = bucketName();
    const home = tempHome();
    const svc = await start(bucket, home);
    const seeded = await seedTraining(svc);
    const before = await views(svc, seeded);
    await stop(svc);
    truncateSync(join(home, "index.sqlite"), 50);

    const r = await o3ml(["index", "rebuild", "--offline", "--json"], { ...storeEnv(s3, bucket), O3ML_HOME: home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("damaged");
    expect(r.stderr).toContain("Moving it aside");
    expect(JSON.parse(r.stdout)).toMatchObject({ offline: true, counts: { runs: 2, checkpoints: 3 } });
    const kept = readdirSync(home).filter((f) => f.startsWith("index.sqlite.") && f.endsWith(".bak"));
    expect(kept).toHaveLength(1);
    const again = await start(bucket, home);
    expect(await views(again, seeded)).toEqual(before);
    await stop(again);
  });

  it("rebuild --offline says what to set when no endpoint is configured", async () => {
    const r = await o3ml(["index", "rebuild", "--offline"], { O3ML_HOME: tempHome() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("FAILED_PRECONDITION");
    expect(r.stderr).toContain("O3ML_ENDPOINT is not set");
  });
});
