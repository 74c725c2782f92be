/**
 * Whether a process id names a running process on this host. Pins and locks
 * carry their owner's pid so that those of a crashed process can be ignored
 * and removed. A reused pid only makes the cache keep an entry longer.
 */
export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
