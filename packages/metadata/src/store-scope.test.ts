import Database from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyEvent } from "./apply-event.js";
import { newEventId, newEvent, type EventOf, type MetadataEvent } from "@o3ml/repository";
import { bulkHistory, cid, sampleHistory, snapshot } from "./fixtures.test-support.js";
import { allBackends, mustRun, type Backend } from "./index-backends.test-support.js";
import { MemoryEventLog } from "./memory-event-log.js";
import type { MetadataIndex } from "./metadata-index.js";
import { migrateIndex, readSchemaVersion } from "./migrate.js";
import { initial } from "./migrations/0001-initial.js";
import { SCHEMA_VERSION } from "./migrations/index.js";
import { openIndex, type OpenIndexOptions } from "./open-index.js";
import { rebuildIndex } from "./rebuild.js";
import { RECORD_TABLES, type IndexDatabase } from "./schema.js";

const STORE_A = "http://127.0.0.1:9000/bucket-a";
const STORE_B = "http://127.0.0.1:9000/bucket-b";

const NOTHING = {
  runs: [],
  datasets: [],
  versions: [],
  checkpoints: [],
  artifacts: [],
  counts: { events: 0, runs: 0, datasets: 0, datasetVersions: 0, checkpoints: 0, artifacts: 0, edges: 0 },
  lineage: [],
};

/** One index (file or database) shared by two stores, as one O3ML_HOME used with two buckets. */
describe.each(allBackends().filter(mustRun))("one index shared by two stores, on $name", { timeout: 60_000 }, (backend: Backend) => {
  const open: MetadataIndex[] = [];
  const openAt = async (opts: OpenIndexOptions) => {
    const index = await openIndex(opts);
    open.push(index);
    return index;
  };
  /** The same file or database, opened once for each store. */
  const shared = async () => {
    const opts = await backend.fresh();
    return { opts, a: await openAt({ ...opts, store: STORE_A }), b: await openAt({ ...opts, store: STORE_B }) };
  };

  beforeAll(() => backend.start(), 120_000);
  afterAll(async () => {
    for (const index of open) await index.close().catch(() => undefined);
    await backend.stop();
  }, 120_000);

  it("shows a store none of another store's records, by listing, id or name", async () => {
    const { a, b } = await shared();
    const events = sampleHistory();
    await a.applyAll(events);
    expect(await snapshot(b)).toEqual(NOTHING);
    const [run] = await a.listRuns();
    const [checkpoint] = await a.listCheckpoints();
    const [artifact] = await a.listArtifacts();
    const lookups: [string, () => Promise<unknown>][] = [
      ["run by id", () => b.getRun(run!.id)],
      ["run by name", () => b.getRun(run!.name)],
      ["checkpoints of a run", () => b.listCheckpoints({ run: run!.name })],
      ["latest checkpoint of a run", () => b.latestCommittedCheckpoint(run!.name)],
      ["checkpoint", () => b.getCheckpoint(checkpoint!.id)],
      ["artifact", () => b.getArtifact(artifact!.id)],
      ["dataset version", () => b.getDatasetVersion("mnist", "latest")],
      ["lineage by id", () => b.lineage(checkpoint!.id)],
      ["lineage by node id", () => b.lineage(`checkpoint:${checkpoint!.id}`)],
      ["lineage by manifest CID", () => b.lineage(cid("d2"))],
    ];
    for (const [what, lookup] of lookups) await expect(lookup(), what).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await a.counts()).events).toBe(events.length);
  });

  it("keeps the same ids and names in two stores apart: each store applies and answers on its own", async () => {
    const { a, b } = await shared();
    const reference = await openAt(await backend.fresh());
    const events = sampleHistory();
    await reference.applyAll(events);
    // The same events (a bucket copied to another, say) are new to the second store too.
    expect(await a.applyAll(events)).toBe(events.length);
    expect(await b.applyAll(events)).toBe(events.length);
    const expected = await snapshot(reference);
    expect(await snapshot(a)).toEqual(expected);
    expect(await snapshot(b)).toEqual(expected);

    // A later event about a shared id changes only its own store's record.
    const committed = events.find((e): e is EventOf<"checkpoint.committed"> => e.type === "checkpoint.committed")!;
    await b.apply(newEvent("checkpoint.deleted", { checkpointId: committed.data.checkpointId }));
    expect((await b.getCheckpoint(committed.data.checkpointId)).state).toBe("deleted");
    expect((await a.getCheckpoint(committed.data.checkpointId)).state).toBe("durable");
    expect(await snapshot(a)).toEqual(expected);
  });

  it("never lends a same-named run's checkpoint to another store: where a new run resumes is its own store's", async () => {
    const { a, b } = await shared();
    const runA = newEventId();
    const checkpointA = newEventId();
    await a.applyAll([
      newEvent("run.created", { runId: runA, name: "mnist-baseline", hyperparameters: {}, packages: {} }),
      newEvent("checkpoint.committed", { checkpointId: checkpointA, runId: runA, step: 10, epoch: 1, metrics: {}, manifestCid: cid("ma"), bytesTotal: 1, bytesUploaded: 1, bytesDeduplicated: 0 }),
    ]);
    const runB = newEventId();
    await b.apply(newEvent("run.created", { runId: runB, name: "mnist-baseline", hyperparameters: {}, packages: {} }));
    expect((await b.getRun("mnist-baseline")).id).toBe(runB);
    expect(await b.latestCommittedCheckpoint("mnist-baseline")).toBeUndefined();
    expect(await b.listCheckpoints()).toEqual([]);
    expect((await a.getRun("mnist-baseline")).id).toBe(runA);
    expect((await a.latestCommittedCheckpoint("mnist-baseline"))?.id).toBe(checkpointA);
  });

  it("rebuilds, resets and replaces only its own store's records", async () => {
    const { a, b } = await shared();
    await a.applyAll(sampleHistory());
    const before = await snapshot(a);
    const logB = new MemoryEventLog();
    for (const e of bulkHistory(2, 4)) await logB.append(e);
    await b.applyAll(sampleHistory());

    const rebuilt = await rebuildIndex(b, logB.list(), () => undefined);
    expect(rebuilt.skipped).toBe(0);
    expect((await b.counts()).checkpoints).toBe(8);
    expect(await snapshot(a)).toEqual(before);

    await b.replaceAll(sampleHistory());
    expect((await b.counts()).checkpoints).toBe(4);
    expect(await snapshot(a)).toEqual(before);

    await b.reset();
    expect(await snapshot(b)).toEqual(NOTHING);
    expect(await snapshot(a)).toEqual(before);
  });

  it("migrates an index from before stores were recorded: its records go to the store that opens it, the others see none", async () => {
    const opts = await backend.fresh();
    const events = sampleHistory();
    await writeVersionOne(backend, opts, events);
    const migrated = await openAt({ ...opts, store: STORE_A });
    const reference = await openAt(await backend.fresh());
    await reference.applyAll(events);
    expect(await snapshot(migrated)).toEqual(await snapshot(reference));
    const raw = backend.connect(opts);
    try {
      expect(await readSchemaVersion(raw)).toBe(SCHEMA_VERSION);
    } finally {
      await raw.destroy();
    }

    // It keeps working: applying, per store, with the same ids again in another store.
    expect(await migrated.apply(events[0]!)).toBe(false);
    const other = await openAt({ ...opts, store: STORE_B });
    expect(await snapshot(other)).toEqual(NOTHING);
    expect(await other.applyAll(events)).toBe(events.length);
    expect(await snapshot(other)).toEqual(await snapshot(reference));
    const again = await openAt({ ...opts, store: STORE_B });
    expect(await snapshot(again)).toEqual(await snapshot(reference));
  });
});

/**
 * Leaves at `opts` an index as o3ml wrote it at schema version 1 (no store
 * column), holding the rows `events` imply: those version 2 derives from
 * them, less the store.
 */
async function writeVersionOne(backend: Backend, opts: OpenIndexOptions, events: MetadataEvent[]): Promise<void> {
  const source = new Kysely<IndexDatabase>({ dialect: new SqliteDialect({ database: new Database(":memory:") }) });
  const target = backend.connect(opts);
  try {
    await migrateIndex(source, "in memory", { store: "source", dialect: "sqlite" });
    for (const e of events) await applyEvent(source, "source", e);
    const { error } = await new Migrator({ db: target, provider: { getMigrations: async () => ({ "0001-initial": initial }) } }).migrateToLatest();
    expect(error).toBeUndefined();
    for (const table of RECORD_TABLES) {
      const rows = (await source.selectFrom(table).selectAll().execute()).map(({ store: _store, ...row }) => row);
      if (rows.length > 0) await target.insertInto(table).values(rows).execute();
    }
  } finally {
    await source.destroy();
    await target.destroy();
  }
}
