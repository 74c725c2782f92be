import { randomBytes, timingSafeEqual } from "node:crypto";
import { constants } from "node:fs";
import { chmod, mkdir, open, readdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { join, resolve } from "node:path";
import { O3mlError } from "@o3ml/errors";

/** A staged file's name: `<pid of the writer>-<random>.stage`, nothing that could leave the directory. */
const STAGED_NAME = /^(\d{1,10})-[0-9a-f]{8,64}\.stage$/;
const PROBE_NAME = /^probe-[0-9a-f]{32}$/;
/** A challenge not answered within this time is forgotten (and its file swept). */
const PROBE_TTL_MS = 60_000;
/** A staged file whose writer still runs is kept this long at most (a save that long is stuck). */
const STAGED_MAX_AGE_MS = 6 * 3600_000;
const SWEEP_EVERY_MS = 60_000;

/** True while process `pid` exists on this host (a staged file's writer; same host by construction). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The staging directory of co-located saves, `$O3ML_HOME/staging` (mode
 * 0700): a client on this host writes a checkpoint's bytes into a file there
 * and names it in its Save call, so the bytes never cross gRPC. The service
 * only opens regular files of its own user, by a name that cannot leave the
 * directory, and without following links: a client can make it read nothing
 * it could not read itself. It deletes a staged file when the save that
 * named it ends, and sweeps files whose writer died before naming them.
 */
export class StagingArea {
  private readonly probes = new Map<string, { challenge: Buffer; at: number }>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(readonly dir: string) {}

  static async open(home: string): Promise<StagingArea> {
    const area = new StagingArea(resolve(home, "staging"));
    await mkdir(area.dir, { recursive: true, mode: 0o700 });
    // mkdir's mode does not change a directory made earlier with a wider one.
    await chmod(area.dir, 0o700);
    await area.sweep();
    area.timer = setInterval(() => void area.sweep().catch(() => undefined), SWEEP_EVERY_MS).unref();
    return area;
  }

  /** First half of the handshake: a random challenge written to a fresh probe file. */
  async challenge(): Promise<{ probe: string; challenge: Buffer }> {
    const probe = `probe-${randomBytes(16).toString("hex")}`;
    const challenge = randomBytes(32);
    const f = await open(join(this.dir, probe), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await f.writeFile(challenge);
    } finally {
      await f.close();
    }
    this.probes.set(probe, { challenge, at: Date.now() });
    return { probe, challenge };
  }

  /** Second half: true when the client saw the challenge and its answer file says what it sent. */
  async answer(probe: string, challenge: Uint8Array, answer: Uint8Array): Promise<boolean> {
    if (!PROBE_NAME.test(probe)) throw new O3mlError("INVALID_ARGUMENT", `colocate: ${JSON.stringify(probe.slice(0, 80))} is not a probe this service handed out; call Colocate without a probe first`);
    const issued = this.probes.get(probe);
    this.probes.delete(probe);
    const answerPath = join(this.dir, `${probe}.answer`);
    try {
      if (!issued || Date.now() - issued.at > PROBE_TTL_MS || answer.byteLength < 16 || answer.byteLength > 64) return false;
      if (challenge.byteLength !== issued.challenge.byteLength || !timingSafeEqual(challenge, issued.challenge)) return false;
      const written = await this.readSmall(answerPath, 64);
      return written !== undefined && written.byteLength === answer.byteLength && timingSafeEqual(written, answer);
    } finally {
      await unlink(join(this.dir, probe)).catch(() => undefined);
      await unlink(answerPath).catch(() => undefined);
    }
  }

  /**
   * Opens a staged file for reading. Refused, with what to do: a name that is
   * not a staged file's, a link, anything but a regular file of this user.
   */
  async openStaged(name: string, what: string): Promise<FileHandle> {
    if (!STAGED_NAME.test(name)) {
      throw new O3mlError("INVALID_ARGUMENT", `${what}: ${JSON.stringify(name.slice(0, 80))} is not the name of a staged file (<pid>-<hex>.stage in ${this.dir}); nothing was committed`);
    }
    let f: FileHandle;
    try {
      f = await open(join(this.dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "does not exist" : code === "ELOOP" ? "is a symbolic link" : `cannot be opened (${code})`;
      throw new O3mlError("FAILED_PRECONDITION", `${what}: staged file ${name} in ${this.dir} ${why}; nothing was committed — save again (the client falls back to streaming when it cannot stage)`);
    }
    const s = await f.stat();
    const uid = process.getuid?.();
    if (!s.isFile() || (uid !== undefined && s.uid !== uid)) {
      await f.close();
      throw new O3mlError("PERMISSION_DENIED", `${what}: staged file ${name} is not a regular file of the service's user; nothing was committed`);
    }
    return f;
  }

  /** Deletes a staged file (done by the service when the save that named it ends). */
  async remove(name: string): Promise<void> {
    if (STAGED_NAME.test(name)) await unlink(join(this.dir, name)).catch(() => undefined);
  }

  /** Deletes staged files whose writer is gone or which are far too old, and stale probes. */
  async sweep(): Promise<number> {
    let removed = 0;
    const now = Date.now();
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const path = join(this.dir, name);
      const s = await stat(path).catch(() => undefined);
      if (!s?.isFile()) continue;
      const staged = STAGED_NAME.exec(name);
      const stale = staged
        ? !alive(Number(staged[1])) || now - s.mtimeMs > STAGED_MAX_AGE_MS
        : name.startsWith("probe-") && now - s.mtimeMs > PROBE_TTL_MS;
      if (stale && (await unlink(path).then(() => true, () => false))) removed++;
    }
    for (const [probe, p] of this.probes) if (now - p.at > PROBE_TTL_MS) this.probes.delete(probe);
    return removed;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async readSmall(path: string, max: number): Promise<Buffer | undefined> {
    const f = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
    if (!f) return undefined;
    try {
      const s = await f.stat();
      const uid = process.getuid?.();
      if (!s.isFile() || s.size > max || (uid !== undefined && s.uid !== uid)) return undefined;
      return await f.readFile();
    } finally {
      await f.close();
    }
  }
}
