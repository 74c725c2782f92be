import { isO3mlError, O3mlError } from "@o3ml/errors";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeEvent, newEvent, eventKey, recordEvent, type EventOf } from "@o3ml/repository";
import { bulkHistory, cid, HOSTILE_DATASET, HOSTILE_RUN_NAME, sampleHistory, shuffled, snapshot } from "./fixtures.test-support.js";
import { allBackends, mustRun, type Backend } from "./index-backends.test-support.js";
import { renderLineage } from "./lineage-render.js";
import { MemoryEventLog } from "./memory-event-log.js";
import { parseMermaid } from "./mermaid-check.test-support.js";
import type { MetadataIndex } from "./metadata-index.js";
import { SCHEMA_VERSION } from "./migrations/index.js";
import { openIndex, type OpenIndexOptions } from "./open-index.js";
import { rebuildIndex } from "./rebuild.js";

/** One suite, every backend: the query layer must answer the same on SQLite and PostgreSQL. */
describe.each(allBackends().filter(mustRun))("metadata index on $name", { timeout: 60_000 }, (backend: Backend) => {
  const open: MetadataIndex[] = [];
  const openAt = async (opts: OpenIndexOptions) => {
    const index = await openIndex(opts);
    open.push(index);
    return index;
  };
  const fresh = async () => openAt(await backend.fresh());

  beforeAll(() => backend.start(), 120_000);
  afterAll(async () => {
    for (const index of open) await index.close().catch(() => undefined);
    await backend.stop();
  }, 120_000);

  describe("schema", () => {
    it("is created at the current version, and reopening changes nothing", async () => {
      const opts = await backend.fresh();
      const first = await openAt(opts);
      await first.apply(sampleHistory()[0]!);
      await first.close();
      const again = await openAt(opts);
      expect((await again.counts()).events).toBe(1);
    });

    it("opens when several services start together on a new index", async () => {
      const opts = await backend.fresh();
      const indexes = await Promise.all([1, 2, 3].map(() => openAt(opts)));
      const events = sampleHistory();
      await Promise.all(indexes.map((index, i) => index.apply(events[i]!)));
      expect((await indexes[0]!.counts()).events).toBe(3);
    });

    it("refuses an index written by a newer o3ml (schema version)", async () => {
      const opts = await backend.fresh();
      await (await openAt(opts)).close();
      await backend.exec(opts, `update o3ml_schema set version = ${SCHEMA_VERSION + 1} where id = 1`);
      const err = await openIndex(opts).catch((e: unknown) => e);
      expect(isO3mlError(err, "FAILED_PRECONDITION")).toBe(true);
      expect((err as Error).message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
      expect((err as Error).message).toMatch(/newer o3ml.*Upgrade o3ml/);
    });

    it("refuses an index carrying migrations this code does not know", async () => {
      const opts = await backend.fresh();
      await (await openAt(opts)).close();
      await backend.exec(opts, `insert into kysely_migration (name, timestamp) values ('9999-from-the-future', '2030-01-01T00:00:00.000Z')`);
      const err = await openIndex(opts).catch((e: unknown) => e);
      expect(isO3mlError(err, "FAILED_PRECONDITION")).toBe(true);
      expect((err as Error).message).toContain("newer than this o3ml understands");
    });
  });

  describe("records", () => {
    it("round-trips every record type", async () => {
      const index = await fresh();
      const events = sampleHistory();
      for (const e of events) expect(await index.apply(e)).toBe(true);
      const runs = await index.listRuns();
      expect(runs.map((r) => r.name)).toEqual([HOSTILE_RUN_NAME, "mnist-resume"]);
      const [r1, r2] = runs;
      expect(r1).toMatchObject({
        hyperparameters: { lr: 0.1, layers: [64, 32], optimizer: { name: "adam", betas: [0.9, 0.999] }, note: null, deterministic: true },
        codeCommit: "4f2a9c1e0b7d",
        codeDirty: true,
        packages: { torch: "2.13.0", lightning: "2.5.0", o3ml: "0.1.0" },
        host: "trainer-1",
      });
      expect(r2).toMatchObject({ codeCommit: null, codeDirty: null, host: null, hyperparameters: {}, packages: {} });
      expect(await index.getRun(r1!.id)).toEqual(r1);
      expect((await index.getRun("mnist-resume")).id).toBe(r2!.id);

      const cps = await index.listCheckpoints();
      expect(cps.map((c) => [c.step, c.state])).toEqual([
        [100, "durable"],
        [200, "deleted"],
        [300, "committed"],
        [400, "durable"],
      ]);
      const [c1, c2, c3, c4] = cps;
      expect(c1).toMatchObject({
        runId: r1!.id,
        epoch: 0,
        metrics: { loss: 0.5, acc: 0.81 },
        manifestCid: cid("m1"),
        parentId: null,
        datasetVersionCid: cid("d2"),
        bytesTotal: 50_000_000_000,
        bytesUploaded: 30_000_000_000,
        bytesDeduplicated: 20_000_000_000,
        networkRootCid: cid("n1"),
      });
      expect(c1!.durableAt).not.toBeNull();
      expect(c2!.metrics.loss).toBeNaN();
      expect(c2!.metrics.acc).toBe(-Infinity);
      expect(c2!.deletedAt).not.toBeNull();
      expect(c4).toMatchObject({ runId: r2!.id, parentId: c3!.id, networkRootCid: null, state: "durable" });
      expect(await index.getCheckpoint(c3!.id)).toEqual(c3);
      expect((await index.listCheckpoints({ run: r1!.id })).length).toBe(3);
      expect((await index.listCheckpoints({ states: ["durable"] })).map((c) => c.id)).toEqual([c1!.id, c4!.id]);
      expect((await index.latestCommittedCheckpoint(r1!.id))?.id).toBe(c3!.id);

      const datasets = await index.listDatasets();
      expect(datasets.map((d) => [d.name, d.versions])).toEqual([
        [HOSTILE_DATASET, 1],
        ["mnist", 2],
      ]);
      const versions = await index.listDatasetVersions("mnist");
      expect(versions[1]).toMatchObject({ manifestCid: cid("d2"), parentVersion: versions[0]!.version, parentManifestCid: cid("d1"), samples: 70000, bytes: 54_880_016 });
      expect(await index.getDatasetVersion("mnist", "latest")).toEqual(versions[1]);
      expect(await index.getDatasetVersion("mnist", versions[0]!.version)).toEqual(versions[0]);
      expect(await index.getDatasetVersion("mnist", cid("d1"))).toEqual(versions[0]);

      const [artifact] = await index.listArtifacts({ run: r1!.id });
      expect(artifact).toMatchObject({ name: "model.onnx", cid: cid("a1"), bytes: 1234, mediaType: "application/onnx", checkpointId: c3!.id });
      expect(await index.getArtifact(artifact!.id)).toEqual(artifact);
    });

    it("traces lineage upstream and downstream", async () => {
      const index = await fresh();
      await index.applyAll(sampleHistory());
      const [c1, c2, c3, c4] = await index.listCheckpoints();
      const graph = await index.lineage(c2!.id);
      const has = (from: string, to: string, relation: string) => graph.edges.some((e) => e.from === from && e.to === to && e.relation === relation);
      expect(graph.focus).toBe(`checkpoint:${c2!.id}`);
      expect(has(`checkpoint:${c1!.id}`, `checkpoint:${c2!.id}`, "parent")).toBe(true);
      expect(has(`run:${c2!.runId}`, `checkpoint:${c2!.id}`, "produced")).toBe(true);
      expect(has(`dataset-version:${cid("d2")}`, `checkpoint:${c2!.id}`, "trained-on")).toBe(true);
      expect(has(`dataset-version:${cid("d1")}`, `dataset-version:${cid("d2")}`, "parent")).toBe(true);
      expect(has(`checkpoint:${c3!.id}`, `checkpoint:${c4!.id}`, "parent")).toBe(true);
      expect(graph.nodes.some((n) => n.kind === "artifact" && n.label === "artifact model.onnx")).toBe(true);
      // The other run's upstream is not part of c2's lineage.
      expect(graph.nodes.some((n) => n.id === `dataset-version:${cid("d3")}`)).toBe(false);

      const byName = await index.lineage("mnist-resume");
      expect(byName.edges).toContainEqual({ from: `dataset-version:${cid("d3")}`, to: `run:${c4!.runId}`, relation: "evaluated-on" });
      expect((await index.lineage(`mnist@latest`)).focus).toBe(`dataset-version:${cid("d2")}`);
      expect((await index.lineage(cid("d1"))).focus).toBe(`dataset-version:${cid("d1")}`);
      expect((await index.lineage(c2!.id, { depth: 1 })).nodes.some((n) => n.id === `dataset-version:${cid("d1")}`)).toBe(false);
      const mermaid = parseMermaid(renderLineage(graph, "mermaid"));
      expect(mermaid.nodes.size).toBe(graph.nodes.length);
      expect(mermaid.edges.length).toBe(graph.edges.length);
      expect([...mermaid.nodes.values()].some((label) => label.includes(HOSTILE_RUN_NAME))).toBe(true);
      const text = renderLineage(graph, "text");
      expect(text).toContain("upstream");
      expect(text).toContain(`parent: checkpoint step 100 (epoch 0, durable) · ${c1!.id}`);
    });

    it("answers NOT_FOUND naming the id for ids it does not know", async () => {
      const index = await fresh();
      await index.applyAll(sampleHistory());
      const missing = "01ZZZZZZZZZZZZZZZZZZZZZZZZ";
      const cases: [string, () => Promise<unknown>][] = [
        ["getCheckpoint", () => index.getCheckpoint(missing)],
        ["getRun", () => index.getRun(missing)],
        ["getArtifact", () => index.getArtifact(missing)],
        ["listCheckpoints", () => index.listCheckpoints({ run: missing })],
        ["latestCommittedCheckpoint", () => index.latestCommittedCheckpoint(missing)],
        ["lineage", () => index.lineage(missing)],
        ["lineage typed", () => index.lineage(`checkpoint:${missing}`)],
        ["listDatasetVersions", () => index.listDatasetVersions(missing)],
        ["getDatasetVersion", () => index.getDatasetVersion("mnist", missing)],
      ];
      for (const [what, call] of cases) {
        const err = await call().then(() => undefined, (e: unknown) => e);
        expect(isO3mlError(err, "NOT_FOUND"), what).toBe(true);
        expect((err as O3mlError).message, what).toContain(missing);
      }
    });
  });

  describe("applying events", () => {
    it("is idempotent: the same event twice makes one record", async () => {
      const index = await fresh();
      const events = sampleHistory();
      await index.applyAll(events);
      const before = await snapshot(index);
      for (const e of events) expect(await index.apply(e)).toBe(false);
      expect(await index.applyAll(events)).toBe(0);
      expect(await snapshot(index)).toEqual(before);
      expect(before.counts).toMatchObject({ events: events.length, runs: 2, checkpoints: 4, datasetVersions: 3, artifacts: 1 });
    });

    it("converges whatever the order, a record written twice under two event ids included", async () => {
      const reference = await fresh();
      const events = sampleHistory();
      const run = events.find((e): e is EventOf<"run.created"> => e.type === "run.created")!;
      // A second writer recording the same run later: the earlier event wins.
      const echo = newEvent("run.created", { ...run.data, name: "renamed-later" }, { at: new Date(Date.parse(run.at) + 60_000) });
      await reference.applyAll([...events, echo]);
      const expected = await snapshot(reference);
      expect(expected.runs[0]!.name).toBe(HOSTILE_RUN_NAME);
      for (const seed of [1, 2, 3, 4]) {
        const index = await fresh();
        for (const e of shuffled([...events, echo], seed)) await index.apply(e);
        expect(await snapshot(index), `order seed ${seed}`).toEqual(expected);
      }
    });

    it("keeps a checkpoint hidden until its committed event arrives", async () => {
      const index = await fresh();
      const events = sampleHistory();
      const durable = events.find((e) => e.type === "checkpoint.durable")!;
      await index.apply(durable);
      expect(await index.listCheckpoints()).toEqual([]);
      const id = (durable.data as { checkpointId: string }).checkpointId;
      await expect(index.getCheckpoint(id)).rejects.toMatchObject({ code: "NOT_FOUND" });
      await index.applyAll(events);
      expect((await index.getCheckpoint(id)).state).toBe("durable");
    });
  });

  describe("rebuild", () => {
    it("recreates the same index from the log alone", async () => {
      const opts = await backend.fresh();
      const index = await openAt(opts);
      const log = new MemoryEventLog();
      const events = [...sampleHistory(), ...bulkHistory(3, 12)];
      for (const e of events) await recordEvent(log, index, e);
      const before = await snapshot(index);
      const beforeJson = before.lineage.map((g) => renderLineage(g, "json"));
      const warnings: string[] = [];
      const result = await rebuildIndex(index, log.list(), (w) => warnings.push(w), { batchSize: 7 });
      expect(result).toEqual({ objects: events.length, applied: events.length, duplicates: 0, skipped: 0, unlanded: [] });
      expect(warnings).toEqual([]);
      const after = await snapshot(index);
      expect(after.checkpoints).toEqual(before.checkpoints);
      expect(after.lineage.map((g) => renderLineage(g, "json"))).toEqual(beforeJson);
      expect(after).toEqual(before);

      // And into a brand-new index, as after losing the database.
      const elsewhere = await fresh();
      await rebuildIndex(elsewhere, log.list(), (w) => warnings.push(w));
      expect(await snapshot(elsewhere)).toEqual(before);
    });

    it("counts a commit event only when its ref landed, or when a later deletion proves it did", async () => {
      const index = await fresh();
      const log = new MemoryEventLog();
      const run = newEvent("run.created", { runId: "run-r", name: "r", hyperparameters: {}, packages: {} });
      const saved = (tag: string, refId?: string) =>
        newEvent("checkpoint.committed", { checkpointId: cid(tag), runId: "run-r", step: 1, epoch: 0, metrics: {}, manifestCid: cid(tag), bytesTotal: 1, bytesUploaded: 1, bytesDeduplicated: 0, refId });
      const version = (tag: string, refId: string) => newEvent("dataset.version.created", { dataset: "d", version: tag, manifestCid: cid(tag), samples: 1, bytes: 1, refId });
      const landed = saved("landed", "ref-landed");
      // A save stopped between its event and its ref (its ref is not among the refs below).
      const stopped = saved("stopped", "ref-never-written");
      // Written before events named their ref, after the ref: counts as it always did.
      const older = saved("older");
      // Deleted since: gc removed its refs, and its deletion proves it was committed.
      const deleted = saved("deleted", "ref-removed-by-gc");
      const gone = newEvent("checkpoint.deleted", { checkpointId: cid("deleted") });
      const pushed = version("v1", "ref-version-landed");
      const unpushed = version("v2", "ref-version-never-written");
      // Removed since (`o3ml dataset rm` deletes its ref): it must stay removed.
      const removed = version("v3", "ref-version-removed");
      const dropped = newEvent("dataset.version.deleted", { dataset: "d", version: "v3", manifestCid: cid("v3") });
      for (const e of [run, landed, stopped, older, deleted, gone, pushed, unpushed, removed, dropped]) await log.append(e);
      const ids = new Set(["ref-landed", "ref-version-landed"]);
      const result = await rebuildIndex(index, log.list(), () => undefined, { refs: async () => ({ has: (id) => ids.has(id), current: (id) => ids.has(id) }) });
      expect(result.unlanded.map((e) => e.id).sort()).toEqual([stopped.id, unpushed.id].sort());
      expect((await index.listCheckpoints({ states: ["committed", "durable"] })).map((c) => c.id).sort()).toEqual([cid("landed"), cid("older")].sort());
      expect((await index.getCheckpoint(cid("deleted"))).state).toBe("deleted");
      await expect(index.getCheckpoint(cid("stopped"))).rejects.toMatchObject({ code: "NOT_FOUND" });
      expect((await index.listDatasetVersions("d")).map((v) => v.version)).toEqual(["v1"]);
    });

    it("counts a deletion event only once the ref it ends is no longer a value, after gc too", async () => {
      const index = await fresh();
      const log = new MemoryEventLog();
      const run = newEvent("run.created", { runId: "run-r", name: "r", hyperparameters: {}, packages: {} });
      const saved = (tag: string) =>
        newEvent("checkpoint.committed", { checkpointId: cid(tag), runId: "run-r", step: 1, epoch: 0, metrics: {}, manifestCid: cid(tag), bytesTotal: 1, bytesUploaded: 1, bytesDeduplicated: 0, refId: `ref-${tag}` });
      const deleted = (tag: string, endsRefId?: string) => newEvent("checkpoint.deleted", { checkpointId: cid(tag), endsRefId });
      const version = (tag: string) => newEvent("dataset.version.created", { dataset: "d", version: tag, manifestCid: cid(tag), samples: 1, bytes: 1, refId: `ref-${tag}` });
      const dropped = (tag: string) => newEvent("dataset.version.deleted", { dataset: "d", version: tag, manifestCid: cid(tag), endsRefId: `ref-${tag}` });
      const events = [
        run,
        // Stopped between its event and its tombstone: the checkpoint's ref is still its key's value.
        saved("stopped"),
        deleted("stopped", "ref-stopped"),
        // Its tombstone landed: the checkpoint's ref is superseded.
        saved("tombstoned"),
        deleted("tombstoned", "ref-tombstoned"),
        // gc removed its ref and then the tombstone: still deleted, never back.
        saved("collected"),
        deleted("collected", "ref-collected"),
        // Written before deletions named a ref: counts as it always did.
        saved("older"),
        deleted("older"),
        // A dataset version whose deletion stopped before its ref was removed, and one removed.
        version("v1"),
        dropped("v1"),
        version("v2"),
        dropped("v2"),
      ];
      for (const e of events) await log.append(e);
      const refs = { has: ["ref-stopped", "ref-tombstoned", "ref-older", "ref-v1"], current: ["ref-stopped", "ref-older", "ref-v1"] };
      const result = await rebuildIndex(index, log.list(), () => undefined, { refs: async () => ({ has: (id) => refs.has.includes(id), current: (id) => refs.current.includes(id) }) });
      expect(result.unlanded.map((e) => e.id).sort()).toEqual([events[2]!.id, events[10]!.id].sort());
      expect((await index.listCheckpoints({ states: ["committed", "durable"] })).map((c) => c.id)).toEqual([cid("stopped")]);
      for (const tag of ["tombstoned", "collected", "older"]) expect((await index.getCheckpoint(cid(tag))).state, tag).toBe("deleted");
      expect((await index.listDatasetVersions("d")).map((v) => v.version)).toEqual(["v1"]);
    });

    it("skips malformed event objects with a warning naming the key, and goes on", async () => {
      const index = await fresh();
      const log = new MemoryEventLog();
      const events = sampleHistory();
      for (const e of events) await log.append(e);
      const junkKey = eventKey("01ARZ3NDEKTSV4RRFFQ69G5FAV");
      const shapeKey = eventKey("01ARZ3NDEKTSV4RRFFQ69G5FAW");
      const movedKey = eventKey("01ARZ3NDEKTSV4RRFFQ69G5FAX");
      const truncatedKey = eventKey("01ARZ3NDEKTSV4RRFFQ69G5FAY");
      log.putRaw(junkKey, new TextEncoder().encode("not msgpack at all"));
      const bad = newEvent("checkpoint.deleted", { checkpointId: "x" }, { id: "01ARZ3NDEKTSV4RRFFQ69G5FAW" });
      log.putRaw(shapeKey, encodeEvent({ ...bad, data: { checkpointId: 42 } } as never));
      log.putRaw(movedKey, encodeEvent(events[0]!));
      log.putRaw(truncatedKey, encodeEvent(events[1]!).subarray(0, 20));
      log.putRaw("o3ml/v1/log/readme.txt", new Uint8Array([1, 2, 3]));
      const warnings: string[] = [];
      const result = await rebuildIndex(index, log.list(), (w) => warnings.push(w));
      expect(result).toMatchObject({ applied: events.length, skipped: 5 });
      for (const key of [junkKey, shapeKey, movedKey, truncatedKey, "o3ml/v1/log/readme.txt"]) {
        expect(warnings.filter((w) => w.includes(key)), key).toHaveLength(1);
      }
      expect(warnings.find((w) => w.includes(shapeKey))).toContain("data.checkpointId");
      expect((await index.counts()).checkpoints).toBe(4);
    });

    it("stops at an event in a newer format rather than build an incomplete index", async () => {
      const index = await fresh();
      const log = new MemoryEventLog();
      const e = sampleHistory()[0]!;
      log.putRaw(eventKey(e.id), encodeEvent({ ...e, v: 2 } as never));
      const err = await rebuildIndex(index, log.list(), () => undefined).catch((x: unknown) => x);
      expect(isO3mlError(err, "FAILED_PRECONDITION")).toBe(true);
      expect((err as Error).message).toContain(eventKey(e.id));
    });
  });

  describe("two writers at once", () => {
    const events = [...sampleHistory(), ...bulkHistory(4, 15)];
    let expected: Awaited<ReturnType<typeof snapshot>>;
    beforeAll(async () => {
      const reference = await fresh();
      await reference.applyAll(events);
      expected = await snapshot(reference);
    }, 60_000);

    it("lose nothing and duplicate nothing (two index instances, one database)", async () => {
      const opts = await backend.fresh();
      const [a, b] = [await openAt(opts), await openAt(opts)];
      // Each writer sees every event (in its own order) and some twice.
      const orderA = shuffled([...events, ...events.slice(0, 20)], 11);
      const orderB = shuffled([...events, ...events.slice(-20)], 12);
      const applyAll = async (index: MetadataIndex, order: typeof events) => {
        let fresh = 0;
        for (const e of order) if (await index.apply(e)) fresh++;
        return fresh;
      };
      const [freshA, freshB] = await Promise.all([applyAll(a, orderA), applyAll(b, orderB)]);
      expect(freshA + freshB).toBe(events.length);
      // Both really wrote: the race was run, not one writer after the other.
      expect(Math.min(freshA, freshB)).toBeGreaterThan(0);
      expect(await snapshot(a)).toEqual(expected);
      expect(await snapshot(b)).toEqual(expected);
    });

    it("lose nothing and duplicate nothing (a second writer in another process)", async () => {
      const opts = await backend.fresh();
      const index = await openAt(opts);
      const child = startWriter(opts, shuffled(events, 21));
      await child.ready;
      let fresh = 0;
      for (const e of shuffled(events, 22)) {
        if (await index.apply(e)) fresh++;
        await pause();
      }
      const childFresh = await child.done;
      expect(fresh + childFresh).toBe(events.length);
      expect(Math.min(fresh, childFresh)).toBeGreaterThan(0);
      expect(await snapshot(index)).toEqual(expected);
    });
  });
});

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Writers pause between events, as services do between checkpoints. Without
 * it, on SQLite, a writer looping flat out re-takes the file lock before the
 * other's busy handler wakes up, and may finish alone: correct, but then the
 * race was never run.
 */
const pause = () => new Promise((r) => setTimeout(r, 1));

/** Starts concurrent-writer.test-support.ts in a child process (through vite-node, as the sources are TypeScript). */
function startWriter(opts: OpenIndexOptions, events: ReturnType<typeof sampleHistory>): { ready: Promise<void>; done: Promise<number> } {
  const jobDir = mkdtempSync(join(tmpdir(), "o3ml-writer-"));
  const jobFile = join(jobDir, "job.json");
  writeFileSync(jobFile, JSON.stringify({ options: { home: opts.home, databaseUrl: opts.databaseUrl, store: opts.store }, events: events.map((e) => Buffer.from(encodeEvent(e)).toString("base64")) }));
  const viteNode = join(dirname(createRequire(import.meta.url).resolve("vite-node")), "..", "vite-node.mjs");
  const child = spawn(process.execPath, [viteNode, join(here, "concurrent-writer.test-support.ts")], {
    cwd: join(here, ".."),
    env: { ...process.env, O3ML_WRITER_JOB: jobFile },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString();
    if (out.includes("ready\n")) markReady();
  });
  const done = new Promise<number>((resolve, reject) => {
    child.on("exit", (code) => {
      rmSync(jobDir, { recursive: true, force: true });
      markReady();
      const m = /fresh (\d+)/.exec(out);
      if (code === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`writer process exited with ${code}: ${out}\n${err}`));
    });
  });
  return { ready, done };
}
