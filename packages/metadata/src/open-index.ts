import { O3mlError } from "@o3ml/errors";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { mkdirSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import pg from "pg";
import { damagedIndex, errorCodeOf, isSqliteDamage, passwordsOf, postgresConnectError, queryError, redactDatabaseUrl } from "./database-errors.js";
import { MetadataIndex } from "./metadata-index.js";
import { migrateIndex } from "./migrate.js";
import type { IndexDatabase } from "./schema.js";
import { moveIndexAside, openSqliteFile } from "./sqlite-file.js";
import { retry, serialise, WriteTransactions } from "./write-transaction.js";

export const INDEX_FILE_NAME = "index.sqlite";

export interface OpenIndexOptions {
  /**
   * The identity of the store (bucket at endpoint, `storeIdentity` in
   * packages/o3-client) whose records the index is opened for: it sees,
   * writes and resets only those (see schema.ts).
   */
  store: string;
  /**
   * A throw-away SQLite index in this process's memory, gone when closed, in
   * place of the configured one: for a store that is itself gone when the
   * process stops (the embedded stand-in), whose records must not outlive it.
   */
  memory?: boolean;
  /** Folder of the embedded index; default $O3ML_HOME, else ~/.o3ml. */
  home?: string;
  /** A postgres:// URL selects PostgreSQL; default $O3ML_DATABASE_URL. Empty or unset: SQLite. */
  databaseUrl?: string;
  /** Where the defaults come from; process.env unless given. */
  env?: Record<string, string | undefined>;
  /**
   * SQLite only: move an existing index file aside (kept as `*.bak`) and start
   * an empty one. What `o3ml index rebuild` does before replaying the log.
   */
  recreate?: boolean;
  /** How long to wait for PostgreSQL to accept a connection; default 5000 ms. */
  connectTimeoutMs?: number;
  /** How long a SQLite writer waits for another process's write; default 5000 ms. */
  busyTimeoutMs?: number;
}

/**
 * Opens the metadata index for one store's records and brings its schema up
 * to date: in memory when asked, else PostgreSQL when a postgres:// URL is
 * configured, else SQLite at `<home>/index.sqlite`.
 * Fails fast and clearly: a wrong URL (INVALID_ARGUMENT, UNAVAILABLE,
 * UNAUTHENTICATED, NOT_FOUND; the password never shown), a damaged file or
 * a schema newer than this code (FAILED_PRECONDITION, naming the way out).
 */
export async function openIndex(opts: OpenIndexOptions): Promise<MetadataIndex> {
  if (!opts.store) throw new O3mlError("INVALID_ARGUMENT", "the metadata index is opened for one store, but none was named");
  if (opts.memory) return openMemory(opts.store);
  const env = opts.env ?? process.env;
  const url = opts.databaseUrl ?? env.O3ML_DATABASE_URL ?? "";
  if (url.trim() !== "") return openPostgres(url.trim(), opts.store, opts.connectTimeoutMs ?? 5000);
  const home = resolve(opts.home ?? env.O3ML_HOME ?? join(homedir(), ".o3ml"));
  return openSqlite(home, opts);
}

async function openSqlite(home: string, opts: OpenIndexOptions): Promise<MetadataIndex> {
  let path = join(home, INDEX_FILE_NAME);
  let file: ReturnType<typeof openSqliteFile>;
  try {
    mkdirSync(home, { recursive: true });
    path = join(realpathSync(home), INDEX_FILE_NAME);
    if (opts.recreate) moveIndexAside(path);
    file = openSqliteFile(path, opts.busyTimeoutMs ?? 5000);
  } catch (err) {
    throw cannotOpen(err, path);
  }
  const db = new Kysely<IndexDatabase>({ dialect: new SqliteDialect({ database: file }) });
  try {
    // Services starting together on one file: serialised here within a
    // process, retried on SQLite's busy answer across processes.
    await serialise(path, () => retry(() => migrateIndex(db, path, { store: opts.store, dialect: "sqlite" })));
  } catch (err) {
    await db.destroy();
    if (isSqliteDamage(err)) throw damagedIndex(path, (err as Error).message, err);
    throw O3mlError.from(err, `opening the metadata index ${path}`);
  }
  return new MetadataIndex(db, opts.store, new WriteTransactions(db, "sqlite", path), "sqlite", path);
}

async function openMemory(store: string): Promise<MetadataIndex> {
  const where = "in memory";
  const db = new Kysely<IndexDatabase>({ dialect: new SqliteDialect({ database: new Database(":memory:") }) });
  try {
    await migrateIndex(db, where, { store, dialect: "sqlite" });
  } catch (err) {
    await db.destroy();
    throw O3mlError.from(err, "creating the in-memory metadata index");
  }
  // Its own write queue: no other connection shares this database.
  return new MetadataIndex(db, store, new WriteTransactions(db, "sqlite", `memory:${randomUUID()}`), "sqlite", where);
}

async function openPostgres(url: string, store: string, connectTimeoutMs: number): Promise<MetadataIndex> {
  const where = checkPostgresUrl(url);
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs, max: 8 });
  // An idle connection the server drops emits 'error' on the pool; without a
  // listener that would end the process. The next query reports the failure.
  pool.on("error", () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw postgresConnectError(err, url);
  }
  const db = new Kysely<IndexDatabase>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrateIndex(db, where, { store, dialect: "postgres" });
  } catch (err) {
    await db.destroy();
    throw queryError(err, "postgres", where, "bringing the schema up to date", passwordsOf(url));
  }
  return new MetadataIndex(db, store, new WriteTransactions(db, "postgres", where), "postgres", where, passwordsOf(url));
}

function cannotOpen(err: unknown, path: string): O3mlError {
  if (err instanceof O3mlError) return err;
  const code = errorCodeOf(err);
  if (/^(EACCES|EPERM|EROFS|SQLITE_CANTOPEN|SQLITE_READONLY|SQLITE_PERM)/.test(code)) {
    return new O3mlError(
      "PERMISSION_DENIED",
      `cannot open the metadata index ${path} (${(err as Error).message}); make O3ML_HOME a writable folder`,
      { path, errno: code },
      { cause: err },
    );
  }
  if (code === "ENOTDIR" || code === "EEXIST") {
    return new O3mlError("INVALID_ARGUMENT", `O3ML_HOME must be a folder, but ${dirname(path)} is not one`, { path, errno: code }, { cause: err });
  }
  return O3mlError.from(err, `opening the metadata index ${path}`);
}

/** Validates the URL's form before any connection; returns it without the password. */
function checkPostgresUrl(url: string): string {
  const where = redactDatabaseUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new O3mlError("INVALID_ARGUMENT", `O3ML_DATABASE_URL is not a valid URL: ${where}; expected postgres://user:password@host:5432/database`, { where });
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `O3ML_DATABASE_URL must be a postgres:// URL, got ${parsed.protocol}// (${where}); leave it unset to use the embedded SQLite index`,
      { where },
    );
  }
  return where;
}
