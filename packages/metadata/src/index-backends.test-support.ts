import Database from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { INDEX_FILE_NAME, type OpenIndexOptions } from "./open-index.js";
import { postgresBinDir, startPostgres, type PostgresServer } from "./postgres-server.test-support.js";

/** The store the tests' indexes are opened for, unless a test needs several. */
export const TEST_STORE = "http://127.0.0.1:9000/o3ml-test";

/**
 * The two databases every metadata test runs against. `fresh()` hands out a
 * new, empty index location (a temporary O3ML_HOME, or a new PostgreSQL
 * database on a throw-away server), never touching the user's environment.
 */
export interface Backend {
  name: "sqlite" | "postgres";
  /** Why the backend cannot run here, if it cannot. */
  unavailable?: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  fresh(): Promise<OpenIndexOptions & { env: Record<string, never> }>;
  /** Runs SQL on the index at `opts` behind o3ml's back (to fake a newer schema, say). */
  exec(opts: OpenIndexOptions, statement: string): Promise<void>;
  /** A kysely connection to the index at `opts`, behind o3ml's back (to build an index as an older o3ml left it); destroy it after use. */
  connect(opts: OpenIndexOptions): Kysely<any>;
}

export function sqliteBackend(): Backend {
  const homes: string[] = [];
  return {
    name: "sqlite",
    async start() {},
    async stop() {
      for (const h of homes) rmSync(h, { recursive: true, force: true });
    },
    async fresh() {
      const home = mkdtempSync(join(tmpdir(), "o3ml-index-"));
      homes.push(home);
      return { home, env: {}, store: TEST_STORE };
    },
    async exec(opts, statement) {
      const db = new Database(join(opts.home!, INDEX_FILE_NAME));
      try {
        db.exec(statement);
      } finally {
        db.close();
      }
    },
    connect(opts) {
      return new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(join(opts.home!, INDEX_FILE_NAME)) }) });
    },
  };
}

export function postgresBackend(): Backend {
  let server: PostgresServer | undefined;
  return {
    name: "postgres",
    unavailable: postgresBinDir().reason,
    async start() {
      server = await startPostgres();
    },
    async stop() {
      await server?.stop();
    },
    async fresh() {
      return { databaseUrl: await server!.createDatabase("o3ml_index"), env: {}, store: TEST_STORE };
    },
    async exec(opts, statement) {
      const client = new pg.Client({ connectionString: opts.databaseUrl });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    },
    connect(opts) {
      return new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: opts.databaseUrl, max: 1 }) }) });
    },
  };
}

/**
 * Both backends. When PostgreSQL is not installed the suite says so loudly
 * and skips it, except under CI (CI=true), where a missing server is a failure.
 */
export function allBackends(): Backend[] {
  return [sqliteBackend(), postgresBackend()];
}

export function mustRun(backend: Backend): boolean {
  if (!backend.unavailable) return true;
  if (process.env.CI === "true") return true; // start() fails and says why
  console.warn(`\n*** SKIPPING the ${backend.name} metadata tests: ${backend.unavailable} ***\n`);
  return false;
}
