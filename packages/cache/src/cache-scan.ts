import { readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { entryPath, parseCacheName } from "./cache-names.js";
import { isAlive } from "./process-liveness.js";

/** The sha2-256 CID of zero bytes: the one entry that may legitimately be empty. */
export const EMPTY_BLOB_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

export interface EntryStat {
  size: number;
  /** Last use (file mtime, touched on every use). */
  usedMs: number;
}

export interface DirectoryState {
  entries: Map<string, EntryStat>;
  /** CIDs pinned by at least one live process. */
  pinned: Set<string>;
}

/**
 * Reads the directory: entries with size and last use, and which CIDs live
 * processes pin. On the way it removes what dead processes left behind (their
 * pins, eviction locks and temp files) and entry files that fail the size
 * check, so the state it returns is the cache as it really is.
 */
export async function scanDirectory(dir: string): Promise<DirectoryState> {
  const names = await readdir(dir);
  const entries = new Map<string, EntryStat>();
  const pinned = new Set<string>();
  const alive = memoAlive();
  const garbage: string[] = [];
  await Promise.all(
    names.map(async (name) => {
      const n = parseCacheName(name);
      if (n.kind === "pin") {
        if (alive(n.pid)) pinned.add(n.cid);
        else garbage.push(name);
      } else if (n.kind === "temp") {
        if (!alive(n.pid)) garbage.push(name);
      } else if (n.kind === "entry") {
        const s = await stat(entryPath(dir, n.cid)).catch(() => undefined);
        if (!s) return; // evicted by another process meanwhile
        if (!s.isFile() || (s.size === 0 && n.cid !== EMPTY_BLOB_CID)) garbage.push(name);
        else entries.set(n.cid, { size: s.size, usedMs: s.mtimeMs });
      }
    }),
  );
  await Promise.all(garbage.map((name) => unlink(join(dir, name)).catch(() => undefined)));
  return { entries, pinned };
}

/** Which CIDs live processes pin right now (a fresh listing, for the check just before deleting). */
export async function pinnedNow(dir: string): Promise<Set<string>> {
  const alive = memoAlive();
  const pinned = new Set<string>();
  for (const name of await readdir(dir)) {
    const n = parseCacheName(name);
    if (n.kind === "pin" && alive(n.pid)) pinned.add(n.cid);
  }
  return pinned;
}

function memoAlive(): (pid: number) => boolean {
  const seen = new Map<number, boolean>();
  return (pid) => {
    let a = seen.get(pid);
    if (a === undefined) seen.set(pid, (a = isAlive(pid)));
    return a;
  };
}
