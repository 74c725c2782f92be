import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "@o3ml/standin";
import pg from "pg";

/**
 * A throw-away PostgreSQL server for tests: `initdb` into a temporary folder,
 * `pg_ctl start` on 127.0.0.1 and a free port (its Unix socket in the same
 * folder), password authentication (scram-sha-256) so wrong credentials are
 * really refused, fsync off. PostgreSQL refuses to run as root, so under root
 * every server command runs as the `postgres` system user (created if absent)
 * through `runuser`.
 */

const run = promisify(execFile);

export interface PostgresServer {
  port: number;
  /** The superuser's password (user `postgres`). */
  password: string;
  /** A URL for `database` as the superuser. */
  url(database: string): string;
  /** Creates a fresh, uniquely named database and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  stop(): Promise<void>;
}

/** The folder holding initdb, pg_ctl and postgres: $O3ML_PG_BIN, else the newest /usr/lib/postgresql/<v>/bin. */
export function postgresBinDir(): { dir?: string; reason?: string } {
  const want = ["initdb", "pg_ctl", "postgres"];
  const candidates = process.env.O3ML_PG_BIN ? [process.env.O3ML_PG_BIN] : debianBinDirs();
  for (const dir of candidates) if (want.every((b) => existsSync(join(dir, b)))) return { dir };
  return { reason: `PostgreSQL server binaries (${want.join(", ")}) not found in ${candidates.join(", ") || "/usr/lib/postgresql/*/bin"}; install the Debian package postgresql (or set O3ML_PG_BIN)` };
}

function debianBinDirs(): string[] {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(base, v, "bin"));
}

export async function startPostgres(): Promise<PostgresServer> {
  const { dir: bin, reason } = postgresBinDir();
  if (!bin) throw new Error(reason);
  const user = serverUser();
  const root = mkdtempSync(join(tmpdir(), "o3ml-pg-"));
  const data = join(root, "data");
  const password = randomBytes(12).toString("hex");
  writeFileSync(join(root, "pwfile"), `${password}\n`);
  if (user) chownTree(root, user);
  const as = (cmd: string, args: string[]) => (user ? run("runuser", ["-u", user.name, "--", join(bin, cmd), ...args], { cwd: root }) : run(join(bin, cmd), args, { cwd: root }));

  await as("initdb", ["-D", data, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${join(root, "pwfile")}`, "-E", "UTF8", "--locale=C", "--no-sync"]);
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100`;
    try {
      await as("pg_ctl", ["start", "-D", data, "-w", "-t", "60", "-l", join(root, "server.log"), "-o", opts]);
      break;
    } catch (err) {
      // Another process may have taken the port between the probe and the start.
      if (attempt >= 3) {
        rmSync(root, { recursive: true, force: true });
        throw new Error(`PostgreSQL did not start: ${String(err)}\n${readLog(root)}`);
      }
    }
  }
  const stopSync = () => {
    try {
      const args = ["stop", "-D", data, "-m", "immediate"];
      if (user) execFileSync("runuser", ["-u", user.name, "--", join(bin, "pg_ctl"), ...args], { cwd: root, stdio: "ignore" });
      else execFileSync(join(bin, "pg_ctl"), args, { cwd: root, stdio: "ignore" });
    } catch {
      // Already stopped.
    }
  };
  process.once("exit", stopSync);

  const url = (database: string) => `postgres://postgres:${password}@127.0.0.1:${port}/${database}`;
  let counter = 0;
  return {
    port,
    password,
    url,
    async createDatabase(prefix = "o3ml") {
      const name = `${prefix}_${process.pid}_${++counter}_${randomBytes(3).toString("hex")}`;
      const client = new pg.Client({ connectionString: url("postgres") });
      await client.connect();
      try {
        await client.query(`create database "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async stop() {
      process.removeListener("exit", stopSync);
      // Immediate: the data folder is deleted next, so a shutdown checkpoint would be wasted work.
      await as("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]).catch(() => stopSync());
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Under root: the `postgres` system user, created if needed. Otherwise none (run as ourselves). */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => {
    try {
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
      return { name: "postgres", uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"], { stdio: "ignore" });
  const created = lookup();
  if (!created) throw new Error("PostgreSQL refuses to run as root, and no postgres user could be found or created");
  return created;
}

function chownTree(path: string, user: { uid: number; gid: number }): void {
  chownSync(path, user.uid, user.gid);
  for (const name of readdirSync(path)) chownSync(join(path, name), user.uid, user.gid);
}

function readLog(root: string): string {
  try {
    return readFileSync(join(root, "server.log"), "utf8").slice(-4000);
  } catch {
    return "";
  }
}

