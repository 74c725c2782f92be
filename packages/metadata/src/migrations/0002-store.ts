import { sql, type ColumnDataType, type CreateTableBuilder, type Kysely, type Migration } from "kysely";
import type { MigrationContext } from "./index.js";

/**
 * Schema version 2: every record carries the identity of the store it came
 * from (see schema.ts), and every key and index leads with it, so two stores
 * may hold the same ids and names in one index. SQLite cannot change a
 * table's primary key, so each record table is copied into a new one with the
 * `store` column, then takes the old one's place.
 *
 * Rows already in the index are attributed to the store the index is opened
 * against now, the one migrating it. An index written before stores were
 * recorded came, in the common case, from the one bucket its O3ML_HOME (or
 * its PostgreSQL database) was always used with, and this keeps every such
 * index answering at once, with no rebuild and no empty listing meanwhile
 * (a shared PostgreSQL index keeps serving all its services). The
 * alternative, setting the rows aside until each store is rebuilt from its
 * log, would empty every upgraded index to repair only indexes that were
 * used with several buckets; those keep their mix in the store that migrates
 * them, and `o3ml index rebuild` there replaces exactly that store's records
 * with what its own log holds, which drops the foreign ones.
 */
export function storeMigration({ store, dialect }: MigrationContext): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      // kysely wraps migrations in a transaction only where it takes DDL to be
      // transactional, which on SQLite it does not (SQLite's DDL is): one is
      // taken here, so a crash half-way leaves the version 1 index intact.
      if (dialect === "sqlite") await sql`begin immediate`.execute(db);
      try {
        for (const table of TABLES) await addStore(db, table, store);
        await db.updateTable("o3ml_schema").set({ version: 2 }).where("id", "=", 1).execute();
        if (dialect === "sqlite") await sql`commit`.execute(db);
      } catch (err) {
        if (dialect === "sqlite") await sql`rollback`.execute(db).catch(() => undefined);
        throw err;
      }
    },
  };
}

/** A record table as version 1 left it: its columns (type, `!` for not null), key, and secondary indexes. */
interface Table {
  name: string;
  columns: Record<string, `${"text" | "integer" | "bigint"}${"" | "!"}`>;
  key: string[];
  indexes: Record<string, string[]>;
}

const TABLES: readonly Table[] = [
  { name: "events", columns: { id: "text!", type: "text!", at: "text!" }, key: ["id"], indexes: {} },
  { name: "datasets", columns: { name: "text!", created_at: "text!", event_id: "text!" }, key: ["name"], indexes: {} },
  {
    name: "dataset_versions",
    columns: {
      dataset: "text!",
      version: "text!",
      manifest_cid: "text!",
      parent_version: "text",
      parent_manifest_cid: "text",
      samples: "bigint!",
      bytes: "bigint!",
      created_at: "text!",
      event_id: "text!",
    },
    key: ["dataset", "version"],
    indexes: { dataset_versions_cid: ["manifest_cid"] },
  },
  {
    name: "runs",
    columns: {
      id: "text!",
      name: "text!",
      created_at: "text!",
      hyperparameters: "text!",
      code_commit: "text",
      code_dirty: "integer",
      packages: "text!",
      host: "text",
      event_id: "text!",
    },
    key: ["id"],
    indexes: { runs_name: ["name"] },
  },
  {
    name: "checkpoints",
    columns: {
      id: "text!",
      run_id: "text",
      step: "bigint",
      epoch: "bigint",
      metrics: "text",
      manifest_cid: "text",
      parent_id: "text",
      dataset_version_cid: "text",
      bytes_total: "bigint",
      bytes_uploaded: "bigint",
      bytes_deduplicated: "bigint",
      committed_at: "text",
      committed_event_id: "text",
      state_rank: "integer!",
      network_root_cid: "text",
      durable_at: "text",
      durable_event_id: "text",
      deleted_at: "text",
      deleted_event_id: "text",
    },
    key: ["id"],
    indexes: { checkpoints_run: ["run_id", "committed_event_id"] },
  },
  {
    name: "artifacts",
    columns: {
      id: "text!",
      run_id: "text!",
      name: "text!",
      cid: "text!",
      bytes: "bigint!",
      media_type: "text",
      checkpoint_id: "text",
      created_at: "text!",
      event_id: "text!",
    },
    key: ["id"],
    indexes: { artifacts_run: ["run_id"] },
  },
  {
    name: "lineage_edges",
    columns: { from_node: "text!", to_node: "text!", relation: "text!" },
    key: ["from_node", "to_node", "relation"],
    indexes: { lineage_edges_to: ["to_node"] },
  },
];

async function addStore(db: Kysely<any>, table: Table, store: string): Promise<void> {
  const next = `${table.name}_with_store`;
  const columns = Object.keys(table.columns);
  const withStore: string[] = ["store", ...columns];
  let create: CreateTableBuilder<string, string> = db.schema.createTable(next).addColumn("store", "text", (c) => c.notNull());
  for (const [name, type] of Object.entries(table.columns)) {
    create = create.addColumn(name, type.replace("!", "") as ColumnDataType, (c) => (type.endsWith("!") ? c.notNull() : c));
  }
  // Named apart from version 1's key, which on PostgreSQL lives on until its table is dropped.
  await create.addPrimaryKeyConstraint(`${table.name}_store_pk`, ["store", ...table.key]).execute();
  await db
    .insertInto(next)
    .columns(withStore)
    .expression(db.selectFrom(table.name).select([sql<string>`cast(${store} as text)`.as("store"), ...columns]))
    .execute();
  // Dropping the table drops its indexes, freeing their names for the new ones.
  await db.schema.dropTable(table.name).execute();
  await db.schema.alterTable(next).renameTo(table.name).execute();
  for (const [name, on] of Object.entries(table.indexes)) await db.schema.createIndex(name).on(table.name).columns(["store", ...on]).execute();
}
