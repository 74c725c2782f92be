import { isO3mlError, type O3mlError } from "@o3ml/errors";
import Database from "better-sqlite3";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redactDatabaseUrl } from "./database-errors.js";
import { bulkHistory } from "./fixtures.test-support.js";
import { mustRun, postgresBackend, TEST_STORE } from "./index-backends.test-support.js";
import { INDEX_FILE_NAME, openIndex } from "./open-index.js";
import { startPostgres, type PostgresServer } from "./postgres-server.test-support.js";

const homes: string[] = [];
function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), "o3ml-open-"));
  homes.push(home);
  return home;
}
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<O3mlError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isO3mlError(err)) throw new Error(`expected an O3mlError, got ${inspect(err)}`);
  return err;
}

/** A home holding a real index with a few hundred records, checkpointed into the main file. */
async function populatedHome(): Promise<{ home: string; file: string }> {
  const home = newHome();
  const index = await openIndex({ store: TEST_STORE, home, env: {} });
  await index.applyAll(bulkHistory(4, 40));
  await index.close();
  const file = join(home, INDEX_FILE_NAME);
  expect(existsSync(`${file}-wal`)).toBe(false); // closing the last connection checkpoints the WAL
  return { home, file };
}

describe("opening the SQLite index", () => {
  it("uses <home>/index.sqlite in WAL mode", async () => {
    const home = newHome();
    const index = await openIndex({ store: TEST_STORE, home, env: {} });
    expect(index.dialect).toBe("sqlite");
    expect(index.location).toBe(join(home, INDEX_FILE_NAME));
    const raw = new Database(index.location, { readonly: true });
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    raw.close();
    await index.close();
  });

  it("takes O3ML_HOME from the environment, and ignores an empty O3ML_DATABASE_URL", async () => {
    const home = newHome();
    const index = await openIndex({ store: TEST_STORE, env: { O3ML_HOME: home, O3ML_DATABASE_URL: "" } });
    expect(index.location).toBe(join(home, INDEX_FILE_NAME));
    await index.close();
  });

  it("says so when O3ML_HOME is not a folder", async () => {
    const file = join(newHome(), "a-file");
    writeFileSync(file, "x");
    const err = await failure(openIndex({ store: TEST_STORE, home: file, env: {} }));
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toContain(file);
  });

  const damaged: [string, (file: string) => void][] = [
    ["truncated to half", (f) => truncateSync(f, Math.floor(statSync(f).size / 2 / 4096) * 4096)],
    ["truncated mid-page", (f) => truncateSync(f, statSync(f).size - 1000)],
    ["truncated inside the header", (f) => truncateSync(f, 50)],
    ["overwritten with other bytes", (f) => writeFileSync(f, Buffer.alloc(8192, 0x5a))],
    [
      "corrupted inside a page",
      (f) => {
        const bytes = readFileSync(f);
        bytes.fill(0xa5, 4096 * 2, 4096 * 6);
        writeFileSync(f, bytes);
      },
    ],
  ];
  for (const [what, damage] of damaged) {
    it(`reports a file ${what} as damaged and offers the rebuild`, async () => {
      const { home, file } = await populatedHome();
      damage(file);
      // Damage deep inside may only surface on a query; either way it is the same clear error.
      const err = await failure(
        (async () => {
          const index = await openIndex({ store: TEST_STORE, home, env: {} });
          try {
            await index.listCheckpoints();
            await index.lineage((await index.listRuns())[0]!.id);
          } finally {
            await index.close();
          }
        })(),
      );
      expect(err.code).toBe("FAILED_PRECONDITION");
      expect(err.message).toContain(file);
      expect(err.message).toContain("damaged");
      expect(err.message).toContain("o3ml index rebuild");
    });
  }

  it("recreate moves a damaged file aside and starts empty", async () => {
    const { home, file } = await populatedHome();
    truncateSync(file, 50);
    const index = await openIndex({ store: TEST_STORE, home, env: {}, recreate: true });
    expect((await index.counts()).events).toBe(0);
    await index.close();
    const kept = readdirSync(home).filter((n) => n.startsWith(`${INDEX_FILE_NAME}.`) && n.endsWith(".bak"));
    expect(kept).toHaveLength(1);
    expect(statSync(join(home, kept[0]!)).size).toBe(50);
  });
});

describe("the in-memory index", () => {
  it("touches neither O3ML_HOME nor the configured database, and its records go when it is closed", async () => {
    const home = newHome();
    const env = { O3ML_HOME: home, O3ML_DATABASE_URL: "postgres://o3ml@nowhere.invalid/o3ml" };
    const index = await openIndex({ store: TEST_STORE, memory: true, env });
    expect(index.location).toBe("in memory");
    await index.applyAll(bulkHistory(1, 3));
    expect((await index.counts()).checkpoints).toBe(3);
    const beside = await openIndex({ store: TEST_STORE, memory: true, env });
    expect((await beside.counts()).events).toBe(0);
    await beside.close();
    await index.close();
    const again = await openIndex({ store: TEST_STORE, memory: true, env });
    expect((await again.counts()).events).toBe(0);
    await again.close();
    expect(readdirSync(home)).toEqual([]);
  });

  it("is opened for a store, like every index", async () => {
    const err = await failure(openIndex({ store: "", memory: true }));
    expect(err.code).toBe("INVALID_ARGUMENT");
  });
});

describe("redacting database URLs", () => {
  it("hides the password wherever the URL carries it", () => {
    expect(redactDatabaseUrl("postgres://u:s3cr%2Fet@db:5432/x")).toBe("postgres://u:***@db:5432/x");
    expect(redactDatabaseUrl("postgres://db/x?user=u&password=s3cret&sslmode=require")).toBe("postgres://db/x?user=u&password=***&sslmode=require");
    expect(redactDatabaseUrl("postgres://u@db/x")).toBe("postgres://u@db/x");
    expect(redactDatabaseUrl("postgres://u:p@ss@db/x")).toBe("postgres://u:***@db/x");
    expect(redactDatabaseUrl("postgres://u:p@ss@[::bad/x")).toBe("postgres://***@[::bad/x");
  });
});

describe.skipIf(!mustRun(postgresBackend()))("opening a PostgreSQL index with a wrong URL", { timeout: 30_000 }, () => {
  let server: PostgresServer;
  let silent: Server;
  let silentPort = 0;
  beforeAll(async () => {
    server = await startPostgres();
    // Accepts connections and never answers: a server that hangs.
    silent = createServer(() => undefined).listen(0, "127.0.0.1");
    await new Promise((r) => silent.once("listening", r));
    silentPort = (silent.address() as { port: number }).port;
  }, 120_000);
  afterAll(async () => {
    silent?.close();
    await server?.stop();
  }, 120_000);

  const secret = "Sup3r-Secret-Pw";
  const expectNoSecret = (err: O3mlError, ...secrets: string[]) => {
    for (const s of secrets) {
      expect(err.message).not.toContain(s);
      expect(JSON.stringify(err.toJSON())).not.toContain(s);
      expect(inspect(err, { depth: 10 })).not.toContain(s);
    }
  };

  it("fails fast on a port where nothing listens (UNAVAILABLE)", async () => {
    const url = `postgres://postgres:${secret}@127.0.0.1:1/o3ml`;
    const started = Date.now();
    const err = await failure(openIndex({ store: TEST_STORE, databaseUrl: url, env: {} }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.message).toContain("postgres://postgres:***@127.0.0.1:1/o3ml");
    expectNoSecret(err, secret);
  });

  it("gives up on a server that does not answer within the connect timeout", async () => {
    const started = Date.now();
    const err = await failure(openIndex({ store: TEST_STORE, databaseUrl: `postgres://postgres:${secret}@127.0.0.1:${silentPort}/o3ml`, env: {}, connectTimeoutMs: 500 }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err.code).toBe("UNAVAILABLE");
    expectNoSecret(err, secret);
  });

  it("reports a wrong password without echoing either password (UNAUTHENTICATED)", async () => {
    const url = server.url("postgres").replace(server.password, secret);
    const err = await failure(openIndex({ store: TEST_STORE, databaseUrl: url, env: {} }));
    expect(err.code).toBe("UNAUTHENTICATED");
    expect(err.message).toContain("***");
    expectNoSecret(err, secret, server.password);
  });

  it("reports a database that does not exist (NOT_FOUND)", async () => {
    const err = await failure(openIndex({ store: TEST_STORE, databaseUrl: server.url("no_such_db"), env: {} }));
    expect(err.code).toBe("NOT_FOUND");
    expect(err.message).toContain("no_such_db");
    expectNoSecret(err, server.password);
  });

  it("rejects URLs that are not postgres:// (INVALID_ARGUMENT)", async () => {
    for (const url of [`mysql://root:${secret}@127.0.0.1/x`, `postgres://u:${secret}@[::bad`, `postgres://u:${secret}@exa mple/x`]) {
      const err = await failure(openIndex({ store: TEST_STORE, databaseUrl: url, env: {} }));
      expect(err.code, url).toBe("INVALID_ARGUMENT");
      expectNoSecret(err, secret);
    }
  });

  it("takes O3ML_DATABASE_URL from the environment", async () => {
    const url = await server.createDatabase();
    const index = await openIndex({ store: TEST_STORE, env: { O3ML_DATABASE_URL: url, O3ML_HOME: "/nonexistent" } });
    expect(index.dialect).toBe("postgres");
    expect(index.location).not.toContain(server.password);
    await index.close();
  });
});
