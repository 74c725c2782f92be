import Database from "better-sqlite3";
import { closeSync, existsSync, openSync, readSync, renameSync, statSync } from "node:fs";
import { damagedIndex, isSqliteDamage } from "./database-errors.js";

/**
 * The embedded index file. Before SQLite touches it, its header is checked
 * against its size, so a truncated or overwritten file is reported as a
 * damaged index (with the way out) instead of failing later on some query.
 *
 * The driver is better-sqlite3, not Node 24's built-in node:sqlite
 * (DatabaseSync). better-sqlite3 is a native addon; where its prebuilt
 * binaries cannot be downloaded (they come from GitHub) npm builds it from
 * source; when set-up fetched Node itself, scripts/node-env.sh points
 * node-gyp at the C/C++ headers that ship inside the npm registry's Node
 * package (npm_config_nodedir), so no download from nodejs.org is needed: about 50 s of compiling on a
 * 2-core machine, once per lock-file or Node ABI change. node:sqlite was
 * measured as an alternative on Node 24.22 (20,000 upserts in transactions of
 * 100, then 20,000 point reads, WAL, synchronous=NORMAL): writes took 38 ms
 * against better-sqlite3's 44 ms, reads 86 ms against 67 ms, so speed
 * decides nothing. Switching would mean
 * an adapter for Kysely's SqliteDialect and for the error codes the index acts
 * on (node:sqlite throws ERR_SQLITE_ERROR with a numeric `errcode` where
 * better-sqlite3 gives SQLITE_BUSY, SQLITE_NOTADB, ... in `code`), a module
 * still marked "active development" (stability 1.1) in Node 24, and on
 * Node 22 only late 22.x releases with its busy `timeout` option; so the
 * index keeps the driver its tests have always run against.
 */

const MAGIC = "SQLite format 3\u0000";

/** Throws FAILED_PRECONDITION when the file at `path` cannot be a whole SQLite database. */
export function checkSqliteHeader(path: string): void {
  if (!existsSync(path)) return;
  const size = statSync(path).size;
  if (size === 0) return; // SQLite treats an empty file as a new database.
  if (size < 100) throw damagedIndex(path, `only ${size} bytes long, shorter than a SQLite header`);
  const header = Buffer.alloc(100);
  const fd = openSync(path, "r");
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString("latin1", 0, 16) !== MAGIC) throw damagedIndex(path, "not a SQLite database");
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw damagedIndex(path, `invalid page size ${raw}`);
  if (size % pageSize !== 0) throw damagedIndex(path, `truncated: ${size} bytes is not a whole number of ${pageSize}-byte pages`);
  // The page count in the header is trustworthy only when the change counter
  // matches "version valid for" (SQLite file format, section 1.3.7).
  const pages = header.readUInt32BE(28);
  if (pages > 0 && header.readUInt32BE(24) === header.readUInt32BE(92) && size < pages * pageSize) {
    throw damagedIndex(path, `truncated: ${size} bytes, but the header says ${pages * pageSize}`);
  }
}

/** Opens the index file in WAL mode (readers never block the writer) with a busy timeout for other processes' writes. */
export function openSqliteFile(path: string, busyTimeoutMs: number): Database.Database {
  checkSqliteHeader(path);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
    db.pragma("journal_mode = WAL");
    // NORMAL is durable across application crashes in WAL mode; a power loss
    // may lose the last transactions, which a rebuild from the bucket restores.
    db.pragma("synchronous = NORMAL");
    db.prepare("select count(*) from sqlite_master").get();
    return db;
  } catch (err) {
    db?.close();
    if (isSqliteDamage(err)) throw damagedIndex(path, (err as Error).message, err);
    throw err;
  }
}

/**
 * Moves an index file (and its WAL and shared-memory files) aside to
 * `<path>.<time>.bak`, so a fresh index can be created in its place without
 * destroying anything. Returns the new name, or undefined if there was no file.
 */
export function moveIndexAside(path: string, now = new Date()): string | undefined {
  if (!existsSync(path)) return undefined;
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const target = `${path}.${stamp}.bak`;
  renameSync(path, target);
  for (const suffix of ["-wal", "-shm"]) if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  return target;
}
