import { O3mlError } from "@o3ml/errors";
import type { Selectable } from "kysely";
import { nodeId } from "./apply-event.js";
import type { NodeKind } from "@o3ml/repository";
import { datasetVersionFromRow, type DatasetVersionRecord } from "./records.js";
import type { RunsTable } from "./schema.js";
import type { StoreScope } from "./store-scope.js";

/**
 * Finding records by what users type: ids, run names, `name@version`, among
 * one store's records. Anything not found is NOT_FOUND naming exactly what
 * was asked for and how to see what exists.
 */

export function notFound(what: string, id: string, hint?: string): O3mlError {
  return new O3mlError("NOT_FOUND", `no ${what} ${id} in the metadata index${hint ? `; ${hint}` : ""}`, { id });
}

/** A run by id, or else the newest run with that name. */
export async function findRun({ db, store }: StoreScope, idOrName: string): Promise<Selectable<RunsTable>> {
  const byId = await db.selectFrom("runs").selectAll().where("store", "=", store).where("id", "=", idOrName).executeTakeFirst();
  if (byId) return byId;
  const byName = await db.selectFrom("runs").selectAll().where("store", "=", store).where("name", "=", idOrName).orderBy("created_at", "desc").orderBy("id", "desc").limit(1).executeTakeFirst();
  if (!byName) throw notFound("run", idOrName, "`o3ml runs ls` lists the known runs");
  return byName;
}

/** Every version of a dataset, oldest first; versions are sortable ids, compared as plain strings. */
export async function findDatasetVersions({ db, store }: StoreScope, name: string): Promise<DatasetVersionRecord[]> {
  const rows = await db.selectFrom("dataset_versions").selectAll().where("store", "=", store).where("dataset", "=", name).execute();
  if (rows.length === 0) throw notFound("dataset", name, "`o3ml dataset ls` lists the known datasets");
  return rows.map(datasetVersionFromRow).sort((a, b) => compare(a.version, b.version));
}

/** One version: by version id, by manifest CID, or "latest" (the greatest version id). */
export async function findDatasetVersion(scope: StoreScope, name: string, version: string): Promise<DatasetVersionRecord> {
  const all = await findDatasetVersions(scope, name);
  const found = version === "latest" ? all.at(-1) : all.find((v) => v.version === version || v.manifestCid === version);
  if (!found) throw notFound(`version of dataset ${name}:`, version, `\`o3ml dataset show ${name}\` lists its versions`);
  return found;
}

/**
 * The lineage node an id names. Tried in order: a node id `<kind>:<id>`, a
 * checkpoint, run, artifact id or manifest CID, a run name, `name@version`.
 */
export async function resolveNode(scope: StoreScope, id: string): Promise<string> {
  const { db, store } = scope;
  const typed = /^(run|checkpoint|dataset-version|artifact):(.+)$/.exec(id);
  if (typed) {
    const onEdge = await db
      .selectFrom("lineage_edges")
      .select("relation")
      .where("store", "=", store)
      .where((eb) => eb.or([eb("from_node", "=", id), eb("to_node", "=", id)]))
      .limit(1)
      .executeTakeFirst();
    if (onEdge || (await hasRecord(scope, typed[1] as NodeKind, typed[2]!))) return id;
  } else {
    for (const kind of ["checkpoint", "run", "artifact", "dataset-version"] as const) if (await hasRecord(scope, kind, id)) return nodeId(kind, id);
    const run = await db.selectFrom("runs").select("id").where("store", "=", store).where("name", "=", id).orderBy("created_at", "desc").orderBy("id", "desc").limit(1).executeTakeFirst();
    if (run) return nodeId("run", run.id);
    const at = id.lastIndexOf("@");
    if (at > 0) {
      const v = await findDatasetVersion(scope, id.slice(0, at), id.slice(at + 1)).catch(() => undefined);
      if (v) return nodeId("dataset-version", v.manifestCid);
    }
  }
  throw notFound("record", id, "give a run, checkpoint or artifact id, a run name, a dataset version as name@version, or a manifest CID");
}

async function hasRecord({ db, store }: StoreScope, kind: NodeKind, ref: string): Promise<boolean> {
  const row =
    kind === "run"
      ? await db.selectFrom("runs").select("id").where("store", "=", store).where("id", "=", ref).executeTakeFirst()
      : kind === "checkpoint"
        ? await db.selectFrom("checkpoints").select("id").where("store", "=", store).where("id", "=", ref).where("committed_event_id", "is not", null).executeTakeFirst()
        : kind === "artifact"
          ? await db.selectFrom("artifacts").select("id").where("store", "=", store).where("id", "=", ref).executeTakeFirst()
          : await db.selectFrom("dataset_versions").select("manifest_cid").where("store", "=", store).where("manifest_cid", "=", ref).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** Plain code-unit order: the same on both databases, whatever PostgreSQL's collation. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
