import { sql, type Kysely, type RawBuilder } from "kysely";
import type { EventOf, MetadataEvent, NodeKind } from "@o3ml/repository";
import { encodeMetrics, STATE_RANK } from "./records.js";
import type { IndexDatabase, LineageEdgesTable } from "./schema.js";

type Db = Kysely<IndexDatabase>;

/**
 * Applies one event of `store`'s log inside a write transaction, to that
 * store's records only; returns false when the store's index had applied the
 * event id before (then nothing changes).
 *
 * The result is a function of the set of events applied, not of their order:
 * every value is taken from the event with the smallest id that sets it, a
 * checkpoint's state only moves up (committed < durable < deleted), and each
 * lineage edge is implied by one event alone. Replaying the log, two writers
 * racing, or an event arriving twice therefore converge on the same index.
 * Deletions of runs and dataset versions remove rows instead; they are
 * written only after their record's creation, so replays in id order agree.
 */
export async function applyEvent(db: Db, store: string, event: MetadataEvent): Promise<boolean> {
  const at = new Date(event.at).toISOString();
  const fresh = await db
    .insertInto("events")
    .values({ store, id: event.id, type: event.type, at })
    .onConflict((oc) => oc.columns(["store", "id"]).doNothing())
    .returning("id")
    .executeTakeFirst();
  if (!fresh) return false;
  switch (event.type) {
    case "run.created":
      return applyRun(db, store, event, at);
    case "run.deleted":
      // Written only for a run the index had, so after its `run.created` in id order.
      await db.deleteFrom("runs").where("store", "=", store).where("id", "=", event.data.runId).execute();
      return true;
    case "dataset.version.created":
      return applyDatasetVersion(db, store, event, at);
    case "dataset.version.deleted":
      return applyDatasetVersionDeleted(db, store, event);
    case "checkpoint.committed":
      return applyCommitted(db, store, event, at);
    case "checkpoint.durable": {
      const { checkpointId, networkRootCid } = event.data;
      await setCheckpoint(db, store, checkpointId, "durable_event_id", event.id, { network_root_cid: networkRootCid, durable_at: at });
      await raiseState(db, store, checkpointId, STATE_RANK.durable);
      return true;
    }
    case "checkpoint.deleted":
      await setCheckpoint(db, store, event.data.checkpointId, "deleted_event_id", event.id, { deleted_at: at });
      await raiseState(db, store, event.data.checkpointId, STATE_RANK.deleted);
      return true;
    case "artifact.created":
      return applyArtifact(db, store, event, at);
    case "lineage.linked": {
      const { from, to, relation } = event.data;
      await addEdges(db, store, [edge(from.kind, from.id, to.kind, to.id, relation)]);
      return true;
    }
  }
}

async function applyRun(db: Db, store: string, event: EventOf<"run.created">, at: string): Promise<true> {
  const d = event.data;
  const row = {
    store,
    id: d.runId,
    name: d.name,
    created_at: at,
    hyperparameters: JSON.stringify(d.hyperparameters),
    code_commit: d.codeCommit,
    code_dirty: d.codeDirty === null ? null : d.codeDirty ? 1 : 0,
    packages: JSON.stringify(d.packages),
    host: d.host,
    event_id: event.id,
  };
  await db
    .insertInto("runs")
    .values(row)
    .onConflict((oc) => oc.columns(["store", "id"]).doUpdateSet(excluded(row)).where("runs.event_id", ">", event.id))
    .execute();
  return true;
}

async function applyDatasetVersion(db: Db, store: string, event: EventOf<"dataset.version.created">, at: string): Promise<true> {
  const d = event.data;
  const dataset = { store, name: d.dataset, created_at: at, event_id: event.id };
  await db
    .insertInto("datasets")
    .values(dataset)
    .onConflict((oc) => oc.columns(["store", "name"]).doUpdateSet(excluded(dataset)).where("datasets.event_id", ">", event.id))
    .execute();
  const row = {
    store,
    dataset: d.dataset,
    version: d.version,
    manifest_cid: d.manifestCid,
    parent_version: d.parentVersion,
    parent_manifest_cid: d.parentManifestCid,
    samples: d.samples,
    bytes: d.bytes,
    created_at: at,
    event_id: event.id,
  };
  await db
    .insertInto("dataset_versions")
    .values(row)
    .onConflict((oc) => oc.columns(["store", "dataset", "version"]).doUpdateSet(excluded(row)).where("dataset_versions.event_id", ">", event.id))
    .execute();
  if (d.parentManifestCid) await addEdges(db, store, [edge("dataset-version", d.parentManifestCid, "dataset-version", d.manifestCid, "parent")]);
  return true;
}

/**
 * Removes the version (and its dataset once no version is left). A deletion
 * is written only for a version the service found committed, so its id is
 * greater than the creation's and every replay in id order applies it after;
 * the manifest CID must match, so a name@version taken again later stays.
 * Lineage edges stay: they record what was trained on it.
 */
async function applyDatasetVersionDeleted(db: Db, store: string, event: EventOf<"dataset.version.deleted">): Promise<true> {
  const d = event.data;
  await db.deleteFrom("dataset_versions").where("store", "=", store).where("dataset", "=", d.dataset).where("version", "=", d.version).where("manifest_cid", "=", d.manifestCid).execute();
  const left = await db.selectFrom("dataset_versions").select("version").where("store", "=", store).where("dataset", "=", d.dataset).limit(1).executeTakeFirst();
  if (!left) await db.deleteFrom("datasets").where("store", "=", store).where("name", "=", d.dataset).execute();
  return true;
}

async function applyCommitted(db: Db, store: string, event: EventOf<"checkpoint.committed">, at: string): Promise<true> {
  const d = event.data;
  await setCheckpoint(db, store, d.checkpointId, "committed_event_id", event.id, {
    run_id: d.runId,
    step: d.step,
    epoch: d.epoch,
    metrics: encodeMetrics(d.metrics),
    manifest_cid: d.manifestCid,
    parent_id: d.parentCheckpointId,
    dataset_version_cid: d.datasetVersionCid,
    bytes_total: d.bytesTotal,
    bytes_uploaded: d.bytesUploaded,
    bytes_deduplicated: d.bytesDeduplicated,
    committed_at: at,
  });
  await raiseState(db, store, d.checkpointId, STATE_RANK.committed);
  const edges = [edge("run", d.runId, "checkpoint", d.checkpointId, "produced")];
  if (d.parentCheckpointId) edges.push(edge("checkpoint", d.parentCheckpointId, "checkpoint", d.checkpointId, "parent"));
  if (d.datasetVersionCid) {
    edges.push(edge("dataset-version", d.datasetVersionCid, "checkpoint", d.checkpointId, "trained-on"));
    edges.push(edge("dataset-version", d.datasetVersionCid, "run", d.runId, "used"));
  }
  await addEdges(db, store, edges);
  return true;
}

async function applyArtifact(db: Db, store: string, event: EventOf<"artifact.created">, at: string): Promise<true> {
  const d = event.data;
  const row = {
    store,
    id: d.artifactId,
    run_id: d.runId,
    name: d.name,
    cid: d.cid,
    bytes: d.bytes,
    media_type: d.mediaType,
    checkpoint_id: d.checkpointId,
    created_at: at,
    event_id: event.id,
  };
  await db
    .insertInto("artifacts")
    .values(row)
    .onConflict((oc) => oc.columns(["store", "id"]).doUpdateSet(excluded(row)).where("artifacts.event_id", ">", event.id))
    .execute();
  const edges = [edge("run", d.runId, "artifact", d.artifactId, "produced")];
  if (d.checkpointId) edges.push(edge("checkpoint", d.checkpointId, "artifact", d.artifactId, "derived"));
  await addEdges(db, store, edges);
  return true;
}

type CheckpointEventColumn = "committed_event_id" | "durable_event_id" | "deleted_event_id";

/**
 * Sets the columns one kind of checkpoint event owns, unless an event of the
 * same kind with a smaller id already set them. The row is created empty
 * first when this is the first event about the checkpoint.
 */
async function setCheckpoint(db: Db, store: string, id: string, column: CheckpointEventColumn, eventId: string, values: Record<string, unknown>): Promise<void> {
  await db
    .insertInto("checkpoints")
    .values({ store, id, state_rank: 0 })
    .onConflict((oc) => oc.columns(["store", "id"]).doNothing())
    .execute();
  await db
    .updateTable("checkpoints")
    .set({ ...values, [column]: eventId })
    .where("store", "=", store)
    .where("id", "=", id)
    .where((eb) => eb.or([eb(column, "is", null), eb(column, ">", eventId)]))
    .execute();
}

async function raiseState(db: Db, store: string, id: string, rank: number): Promise<void> {
  await db.updateTable("checkpoints").set({ state_rank: rank }).where("store", "=", store).where("id", "=", id).where("state_rank", "<", rank).execute();
}

export function nodeId(kind: NodeKind, id: string): string {
  return `${kind}:${id}`;
}

function edge(fromKind: NodeKind, fromId: string, toKind: NodeKind, toId: string, relation: string): Omit<LineageEdgesTable, "store"> {
  return { from_node: nodeId(fromKind, fromId), to_node: nodeId(toKind, toId), relation };
}

async function addEdges(db: Db, store: string, edges: Omit<LineageEdgesTable, "store">[]): Promise<void> {
  await db
    .insertInto("lineage_edges")
    .values(edges.map((e) => ({ store, ...e })))
    .onConflict((oc) => oc.columns(["store", "from_node", "to_node", "relation"]).doNothing())
    .execute();
}

/** `SET col = excluded.col` for every column of an upserted row. */
function excluded<R extends object>(row: R): Record<keyof R, RawBuilder<any>> {
  const set = {} as Record<keyof R, RawBuilder<any>>;
  for (const col of Object.keys(row) as (keyof R & string)[]) set[col] = sql.ref<any>(`excluded.${col}`);
  return set;
}
