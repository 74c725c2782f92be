import type { Kysely } from "kysely";
import { applyEvent } from "./apply-event.js";
import { queryError } from "./database-errors.js";
import type { CheckpointState, MetadataEvent } from "@o3ml/repository";
import { collectLineage, type LineageGraph } from "./lineage.js";
import {
  artifactFromRow,
  checkpointFromRow,
  runFromRow,
  STATE_RANK,
  type ArtifactRecord,
  type CheckpointRecord,
  type DatasetRecord,
  type DatasetVersionRecord,
  type RunRecord,
} from "./records.js";
import { compare, findDatasetVersion, findDatasetVersions, findRun, notFound, resolveNode } from "./record-lookup.js";
import { RECORD_TABLES, type IndexDatabase } from "./schema.js";
import type { StoreScope } from "./store-scope.js";
import type { DialectName, WriteTransactions } from "./write-transaction.js";

export interface ListCheckpointsOptions {
  /** A run id, or a run name (its newest run with that name). */
  run?: string;
  /** Only checkpoints in these states; all states by default. */
  states?: CheckpointState[];
}

export interface IndexCounts {
  events: number;
  runs: number;
  datasets: number;
  datasetVersions: number;
  checkpoints: number;
  artifacts: number;
  edges: number;
}

/**
 * The query layer over the metadata index, the same on SQLite and
 * PostgreSQL, confined to one store's records: it writes only rows of
 * `store`, and reads, counts and resets only those, whatever other stores
 * share the file or database (see schema.ts). Records enter only through
 * `apply(event)`; every query answers in a deterministic order. Lookups of
 * an id the store's records do not hold fail with NOT_FOUND naming the id.
 * Obtain one with `openIndex`.
 */
export class MetadataIndex {
  private readonly scope: StoreScope;

  constructor(
    private readonly db: Kysely<IndexDatabase>,
    /** The identity of the store whose records this index holds (`storeIdentity` in packages/o3-client). */
    readonly store: string,
    private readonly writes: WriteTransactions,
    readonly dialect: DialectName,
    /** The SQLite file path, or the PostgreSQL URL without its password. */
    readonly location: string,
    /** Password forms to scrub from driver messages. */
    private readonly secrets: readonly string[] = [],
  ) {
    this.scope = { db, store };
  }

  /** Applies one event; false when it had been applied before (nothing changes). */
  apply(event: MetadataEvent): Promise<boolean> {
    return this.guard(`applying event ${event.id}`, () => this.writes.run((trx) => applyEvent(trx, this.store, event)));
  }

  /** Applies events in one transaction; returns how many were new. */
  applyAll(events: readonly MetadataEvent[]): Promise<number> {
    if (events.length === 0) return Promise.resolve(0);
    return this.guard(`applying ${events.length} events`, () =>
      this.writes.run(async (trx) => {
        let fresh = 0;
        for (const e of events) if (await applyEvent(trx, this.store, e)) fresh++;
        return fresh;
      }),
    );
  }

  listRuns(): Promise<RunRecord[]> {
    return this.guard("listing runs", async () => {
      const rows = await this.db.selectFrom("runs").selectAll().where("store", "=", this.store).execute();
      return rows.sort((a, b) => compare(a.created_at, b.created_at) || compare(a.id, b.id)).map(runFromRow);
    });
  }

  /** A run by id, or else the newest run with that name. */
  getRun(idOrName: string): Promise<RunRecord> {
    return this.guard(`reading run ${idOrName}`, async () => runFromRow(await findRun(this.scope, idOrName)));
  }

  listCheckpoints(opts: ListCheckpointsOptions = {}): Promise<CheckpointRecord[]> {
    return this.guard("listing checkpoints", async () => {
      let q = this.db.selectFrom("checkpoints").selectAll().where("store", "=", this.store).where("committed_event_id", "is not", null);
      if (opts.run !== undefined) q = q.where("run_id", "=", (await findRun(this.scope, opts.run)).id);
      if (opts.states !== undefined) q = q.where("state_rank", "in", opts.states.length ? opts.states.map((s) => STATE_RANK[s]) : [-1]);
      const rows = await q.execute();
      rows.sort((a, b) => compare(a.run_id!, b.run_id!) || compare(a.committed_event_id!, b.committed_event_id!));
      return rows.map(checkpointFromRow);
    });
  }

  getCheckpoint(id: string): Promise<CheckpointRecord> {
    return this.guard(`reading checkpoint ${id}`, async () => {
      const row = await this.db
        .selectFrom("checkpoints")
        .selectAll()
        .where("store", "=", this.store)
        .where("id", "=", id)
        .where("committed_event_id", "is not", null)
        .executeTakeFirst();
      if (!row) throw notFound("checkpoint", id, "`o3ml ckpt ls` lists the known checkpoints");
      return checkpointFromRow(row);
    });
  }

  /** The most recently committed checkpoint of a run that is not deleted: where training resumes. */
  latestCommittedCheckpoint(run: string): Promise<CheckpointRecord | undefined> {
    return this.guard(`finding the latest checkpoint of run ${run}`, async () => {
      const runId = (await findRun(this.scope, run)).id;
      const row = await this.db
        .selectFrom("checkpoints")
        .selectAll()
        .where("store", "=", this.store)
        .where("run_id", "=", runId)
        .where("committed_event_id", "is not", null)
        .where("state_rank", "<", STATE_RANK.deleted)
        .orderBy("committed_event_id", "desc")
        .limit(1)
        .executeTakeFirst();
      return row ? checkpointFromRow(row) : undefined;
    });
  }

  listDatasets(): Promise<DatasetRecord[]> {
    return this.guard("listing datasets", async () => {
      const datasets = await this.db.selectFrom("datasets").selectAll().where("store", "=", this.store).execute();
      const versions = await this.db.selectFrom("dataset_versions").select(["dataset", "version"]).where("store", "=", this.store).execute();
      return datasets
        .map((d) => {
          const own = versions.filter((v) => v.dataset === d.name).map((v) => v.version).sort(compare);
          return { name: d.name, createdAt: d.created_at, versions: own.length, latestVersion: own.at(-1) ?? null };
        })
        .sort((a, b) => compare(a.name, b.name));
    });
  }

  /** Versions of a dataset, oldest first (versions are sortable ids). */
  listDatasetVersions(name: string): Promise<DatasetVersionRecord[]> {
    return this.guard(`listing versions of dataset ${name}`, () => findDatasetVersions(this.scope, name));
  }

  /** One version of a dataset: by version id, by manifest CID, or "latest" (greatest version id). */
  getDatasetVersion(name: string, version: string): Promise<DatasetVersionRecord> {
    return this.guard(`reading dataset ${name}@${version}`, () => findDatasetVersion(this.scope, name, version));
  }

  listArtifacts(opts: { run?: string } = {}): Promise<ArtifactRecord[]> {
    return this.guard("listing artifacts", async () => {
      let q = this.db.selectFrom("artifacts").selectAll().where("store", "=", this.store);
      if (opts.run !== undefined) q = q.where("run_id", "=", (await findRun(this.scope, opts.run)).id);
      const rows = await q.execute();
      return rows.sort((a, b) => compare(a.created_at, b.created_at) || compare(a.id, b.id)).map(artifactFromRow);
    });
  }

  getArtifact(id: string): Promise<ArtifactRecord> {
    return this.guard(`reading artifact ${id}`, async () => {
      const row = await this.db.selectFrom("artifacts").selectAll().where("store", "=", this.store).where("id", "=", id).executeTakeFirst();
      if (!row) throw notFound("artifact", id);
      return artifactFromRow(row);
    });
  }

  /**
   * The lineage around a record, named by any id the index knows: a
   * checkpoint, run (id or name), artifact, dataset version (manifest CID or
   * `name@version`, `name@latest`), or a node id `<kind>:<id>`.
   */
  lineage(id: string, opts: { depth?: number } = {}): Promise<LineageGraph> {
    return this.guard(`tracing the lineage of ${id}`, async () => collectLineage(this.scope, await resolveNode(this.scope, id), opts.depth));
  }

  counts(): Promise<IndexCounts> {
    return this.guard("counting records", async () => {
      const count = async (table: (typeof RECORD_TABLES)[number]) =>
        Number((await this.db.selectFrom(table).select((eb) => eb.fn.countAll().as("n")).where("store", "=", this.store).executeTakeFirstOrThrow()).n);
      const checkpoints = await this.db
        .selectFrom("checkpoints")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("store", "=", this.store)
        .where("committed_event_id", "is not", null)
        .executeTakeFirstOrThrow();
      return {
        events: await count("events"),
        runs: await count("runs"),
        datasets: await count("datasets"),
        datasetVersions: await count("dataset_versions"),
        checkpoints: Number(checkpoints.n),
        artifacts: await count("artifacts"),
        edges: await count("lineage_edges"),
      };
    });
  }

  /**
   * Replaces every record of this store with what `events` imply, in one
   * write transaction: a reader sees the old index or the new one, never a
   * half-built mix. How a running service rebuilds its index; returns how
   * many events were applied (an id given twice counts once).
   */
  replaceAll(events: readonly MetadataEvent[]): Promise<number> {
    return this.guard(`replacing the index with ${events.length} events`, () =>
      this.writes.run(async (trx) => {
        await deleteRecords(trx, this.store);
        let fresh = 0;
        for (const e of events) if (await applyEvent(trx, this.store, e)) fresh++;
        return fresh;
      }),
    );
  }

  /** Deletes every record of this store (other stores' and the schema stay): the first step of a rebuild. */
  reset(): Promise<void> {
    return this.guard("resetting the index", () => this.writes.run((trx) => deleteRecords(trx, this.store)));
  }

  close(): Promise<void> {
    return this.db.destroy();
  }

  private async guard<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw queryError(err, this.dialect, this.location, doing, this.secrets);
    }
  }
}

async function deleteRecords(trx: Kysely<IndexDatabase>, store: string): Promise<void> {
  for (const table of RECORD_TABLES) await trx.deleteFrom(table).where("store", "=", store).execute();
}
