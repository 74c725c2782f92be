import { readFile, stat, unlink, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { lockPath } from "./cache-names.js";
import { isAlive } from "./process-liveness.js";

/** An eviction lock is held for the few file operations of one eviction; older ones are stale. */
const STALE_LOCK_MS = 30_000;

/**
 * Takes the eviction lock of `cid` (created exclusively, holding the owner's
 * pid). False when another process holds it. A lock left by a dead process,
 * or older than any eviction takes, is removed and taken.
 */
export async function tryLock(dir: string, cid: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockPath(dir, cid), String(process.pid), { flag: "wx" });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (!(await clearIfStale(dir, cid))) return false;
    }
  }
  return false;
}

export async function unlock(dir: string, cid: string): Promise<void> {
  await unlink(lockPath(dir, cid)).catch(() => undefined);
}

/** Waits until no process holds the eviction lock of `cid` (the caller has already pinned it). */
export async function waitUnlocked(dir: string, cid: string): Promise<void> {
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    const exists = await stat(lockPath(dir, cid)).then(() => true, () => false);
    if (!exists) return;
    if (await clearIfStale(dir, cid)) return;
    await sleep(delay);
  }
}

/** Removes the lock if its owner is dead or it is older than STALE_LOCK_MS; true when it is gone. */
async function clearIfStale(dir: string, cid: string): Promise<boolean> {
  const path = lockPath(dir, cid);
  const [owner, s] = await Promise.all([readFile(path, "utf8").catch(() => undefined), stat(path).catch(() => undefined)]);
  if (owner === undefined || s === undefined) return true;
  // An empty file is a lock whose owner has not written its pid yet: alive.
  const pid = owner === "" ? process.pid : Number(owner);
  if (isAlive(pid) && Date.now() - s.mtimeMs < STALE_LOCK_MS) return false;
  await unlink(path).catch(() => undefined);
  return true;
}
