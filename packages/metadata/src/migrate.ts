import { O3mlError } from "@o3ml/errors";
import { Migrator, type Kysely } from "kysely";
import { migrations, SCHEMA_VERSION, type MigrationContext } from "./migrations/index.js";
import type { IndexDatabase } from "./schema.js";

/**
 * Brings an index to SCHEMA_VERSION, or refuses one written by a newer o3ml.
 * Migrations run under kysely's migration lock (an advisory lock on
 * PostgreSQL), so services starting together apply each migration once.
 * `where` names the index (file path or URL without password) in messages;
 * `ctx` is what a migration may need (the store rows from before version 2
 * are attributed to: see migrations/0002-store.ts).
 */
export async function migrateIndex(db: Kysely<IndexDatabase>, where: string, ctx: MigrationContext): Promise<void> {
  const found = await readSchemaVersion(db);
  if (found > SCHEMA_VERSION) throw newerSchema(where, `schema version ${found}`);
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations(ctx) } });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    // Kysely refuses a database that ran migrations this code does not have:
    // the same situation (a newer o3ml wrote it) reached another way.
    if (error instanceof Error && error.message.includes("corrupted migrations")) {
      throw newerSchema(where, "migrations this o3ml does not know", error);
    }
    // Kysely passes on whatever the migration threw; the caller maps an Error to what went wrong.
    throw error instanceof Error ? error : new Error("a schema migration failed", { cause: error });
  }
  const now = await readSchemaVersion(db);
  if (now !== SCHEMA_VERSION) {
    throw new O3mlError(
      "FAILED_PRECONDITION",
      `the metadata index at ${where} reports schema version ${now} after migration, expected ${SCHEMA_VERSION}: ` +
        "it was changed outside o3ml; run `o3ml index rebuild` to recreate it from the bucket",
      { where, found: now, expected: SCHEMA_VERSION },
    );
  }
}

/** The schema version recorded in the index; 0 for an empty database. */
export async function readSchemaVersion(db: Kysely<IndexDatabase>): Promise<number> {
  const tables = await db.introspection.getTables();
  if (!tables.some((t) => t.name === "o3ml_schema")) return 0;
  const row = await db.selectFrom("o3ml_schema").select("version").where("id", "=", 1).executeTakeFirst();
  return row ? Number(row.version) : 0;
}

function newerSchema(where: string, what: string, cause?: unknown): O3mlError {
  return new O3mlError(
    "FAILED_PRECONDITION",
    `the metadata index at ${where} has ${what}, newer than this o3ml understands (schema version ${SCHEMA_VERSION}): ` +
      "it was written by a newer o3ml. Upgrade o3ml, or use another index (O3ML_HOME or O3ML_DATABASE_URL); " +
      "`o3ml index rebuild` recreates one from the bucket",
    { where, supported: SCHEMA_VERSION },
    { cause },
  );
}
