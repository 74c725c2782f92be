import { sql, type Kysely } from "kysely";
import type { IndexDatabase } from "./schema.js";

export type DialectName = "sqlite" | "postgres";

/**
 * Runs write transactions against the index so that concurrent writers,
 * in one process or many, neither fail nor interleave half-applied events.
 *
 * SQLite: `BEGIN IMMEDIATE` takes the file's write lock before anything is
 * read, so a transaction never has to upgrade a stale read snapshot (which
 * SQLite refuses outright with SQLITE_BUSY_SNAPSHOT); other processes wait
 * for the lock up to the busy timeout. Connections of one process to the
 * same file are serialised here first, because better-sqlite3 waits for a
 * lock synchronously: a second connection blocking the event loop would
 * starve the first of the turn it needs to commit.
 *
 * PostgreSQL: plain read-committed transactions. Every statement is an
 * upsert or a conditional update, so conflicts resolve inside the server;
 * the deadlocks and serialisation failures it may still report are retried.
 */
export class WriteTransactions {
  constructor(
    private readonly db: Kysely<IndexDatabase>,
    private readonly dialect: DialectName,
    /** The SQLite file's real path; connections sharing it share one queue. */
    private readonly lockKey: string,
  ) {}

  run<T>(fn: (trx: Kysely<IndexDatabase>) => Promise<T>): Promise<T> {
    return this.dialect === "sqlite" ? serialise(this.lockKey, () => retry(() => this.sqlite(fn))) : retry(() => this.db.transaction().execute(fn));
  }

  private sqlite<T>(fn: (trx: Kysely<IndexDatabase>) => Promise<T>): Promise<T> {
    return this.db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      }
    });
  }
}

const RETRYABLE = new Set(["SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT", "SQLITE_LOCKED", "40001", "40P01"]);

export function isRetryable(err: unknown): boolean {
  return RETRYABLE.has(String((err as { code?: unknown })?.code));
}

/** Retries transient lock conflicts with jittered backoff; the last error is rethrown as is. */
export async function retry<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryable(err)) throw err;
      await new Promise((r) => setTimeout(r, 10 * 2 ** i * (0.5 + Math.random())));
    }
  }
}

const queues = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call with the same key has settled. */
export function serialise<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const result = previous.then(fn, fn);
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return result;
}
