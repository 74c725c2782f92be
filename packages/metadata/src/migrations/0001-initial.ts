import type { Kysely, Migration } from "kysely";

/**
 * The first schema. Written with the portable subset of the schema builder
 * (text, integer, bigint; no foreign keys, since events may arrive in any
 * order and a checkpoint may be applied before the run it names).
 */
export const initial: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable("o3ml_schema")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("version", "integer", (c) => c.notNull())
      .execute();
    await db.insertInto("o3ml_schema").values({ id: 1, version: 1 }).execute();

    await db.schema
      .createTable("events")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("at", "text", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("datasets")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("event_id", "text", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("dataset_versions")
      .addColumn("dataset", "text", (c) => c.notNull())
      .addColumn("version", "text", (c) => c.notNull())
      .addColumn("manifest_cid", "text", (c) => c.notNull())
      .addColumn("parent_version", "text")
      .addColumn("parent_manifest_cid", "text")
      .addColumn("samples", "bigint", (c) => c.notNull())
      .addColumn("bytes", "bigint", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("event_id", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("dataset_versions_pk", ["dataset", "version"])
      .execute();
    await db.schema.createIndex("dataset_versions_cid").on("dataset_versions").column("manifest_cid").execute();

    await db.schema
      .createTable("runs")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("hyperparameters", "text", (c) => c.notNull())
      .addColumn("code_commit", "text")
      .addColumn("code_dirty", "integer")
      .addColumn("packages", "text", (c) => c.notNull())
      .addColumn("host", "text")
      .addColumn("event_id", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("runs_name").on("runs").column("name").execute();

    await db.schema
      .createTable("checkpoints")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("run_id", "text")
      .addColumn("step", "bigint")
      .addColumn("epoch", "bigint")
      .addColumn("metrics", "text")
      .addColumn("manifest_cid", "text")
      .addColumn("parent_id", "text")
      .addColumn("dataset_version_cid", "text")
      .addColumn("bytes_total", "bigint")
      .addColumn("bytes_uploaded", "bigint")
      .addColumn("bytes_deduplicated", "bigint")
      .addColumn("committed_at", "text")
      .addColumn("committed_event_id", "text")
      .addColumn("state_rank", "integer", (c) => c.notNull())
      .addColumn("network_root_cid", "text")
      .addColumn("durable_at", "text")
      .addColumn("durable_event_id", "text")
      .addColumn("deleted_at", "text")
      .addColumn("deleted_event_id", "text")
      .execute();
    await db.schema.createIndex("checkpoints_run").on("checkpoints").columns(["run_id", "committed_event_id"]).execute();

    await db.schema
      .createTable("artifacts")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("run_id", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("cid", "text", (c) => c.notNull())
      .addColumn("bytes", "bigint", (c) => c.notNull())
      .addColumn("media_type", "text")
      .addColumn("checkpoint_id", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("event_id", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("artifacts_run").on("artifacts").column("run_id").execute();

    await db.schema
      .createTable("lineage_edges")
      .addColumn("from_node", "text", (c) => c.notNull())
      .addColumn("to_node", "text", (c) => c.notNull())
      .addColumn("relation", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("lineage_edges_pk", ["from_node", "to_node", "relation"])
      .execute();
    await db.schema.createIndex("lineage_edges_to").on("lineage_edges").column("to_node").execute();
  },
};
