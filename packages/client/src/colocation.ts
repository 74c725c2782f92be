import { randomBytes } from "node:crypto";
import { closeSync, constants, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { status, type Client, type Metadata, type ServiceError } from "@grpc/grpc-js";
import { isO3mlError } from "@o3ml/errors";
import type { o3ml } from "@o3ml/proto";

/** What a process on the service's host needs: where the service stages files. */
export interface Colocated {
  stagingDir: string;
}

/** A new file only this user may read, never through a link: the probe's answer, a staged put. */
const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * A new file in the service's staging directory, or undefined when none can be made there (the
 * caller then streams). The name carries this process's id: the service sweeps files whose writer died.
 */
export async function stageFile(dir: string): Promise<{ path: string; name: string; file: FileHandle } | undefined> {
  const name = `${process.pid}-${randomBytes(16).toString("hex")}.stage`;
  const path = join(dir, name);
  try {
    return { path, name, file: await open(path, EXCLUSIVE, 0o600) };
  } catch {
    return undefined;
  }
}

/**
 * True when the service refused the file staged at `path` as missing while it is still there: the
 * channel reconnected to another service than the one that took the handshake (restarted with
 * another O3ML_HOME, or another service now on the address), whose staging directory is
 * elsewhere. The service deletes a staged file before it answers, so on the service that took the
 * handshake a refusal naming the file never finds it still there. As
 * python-plugins/src/o3ml/_colocation.py's `refused_elsewhere`.
 */
export function refusedElsewhere(err: unknown, path: string): boolean {
  return isO3mlError(err, "FAILED_PRECONDITION") && err.message.includes(basename(path)) && existsSync(path);
}

/**
 * A handshake call that failed so reached no service: its failure says nothing about the host.
 * Not DEADLINE_EXCEEDED: a service too slow to answer in 10 s would cost every call 10 s.
 */
function unanswered(err: unknown): boolean {
  const code = (err as Partial<ServiceError>).code;
  return code === status.UNAVAILABLE || code === status.CANCELLED;
}

type Colocate = (req: object, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: o3ml.v1.ColocateResponse) => void) => void;

/**
 * Whether this process shares a filesystem with the service
 * (`AdminService.Colocate`), proven the way python-plugins/src/o3ml/_colocation.py
 * proves it: the service writes a random challenge into its staging directory,
 * this process reads it there and answers with random bytes in a file beside
 * it, which the service reads back. Undefined, with the reason, when it does
 * not (another host or container, another O3ML_HOME or user, a read-only
 * directory, a service without the call) or when O3ML_COLOCATE=0: then bytes
 * stream through gRPC, as they always can. Rejects when no service answered
 * (UNAVAILABLE: not started yet, restarting), which proves nothing either way.
 */
export async function handshake(admin: Client, md: Metadata): Promise<Colocated | { why: string }> {
  if (/^(0|false|no|off)$/i.test((process.env.O3ML_COLOCATE ?? "1").trim())) return { why: "O3ML_COLOCATE turns it off" };
  const colocate = ((admin as unknown as Record<string, Colocate>).colocate as Colocate).bind(admin);
  const call = (req: object) =>
    new Promise<o3ml.v1.ColocateResponse>((resolve, reject) => colocate(req, md, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res))));
  let first: o3ml.v1.ColocateResponse;
  try {
    first = await call({});
  } catch (err) {
    if (unanswered(err)) throw err;
    return { why: `the service did not take the handshake (${(err as Error).message})` };
  }
  const probe = join(first.stagingDir, first.probe);
  const answer = randomBytes(32);
  let seen: Buffer = Buffer.alloc(0);
  let why = "";
  try {
    seen = readFileSync(probe);
    if (!seen.equals(Buffer.from(first.challenge))) why = `${probe} does not hold the service's challenge`;
    else {
      const fd = openSync(`${probe}.answer`, EXCLUSIVE, 0o600);
      try {
        writeSync(fd, answer);
      } finally {
        closeSync(fd);
      }
    }
  } catch (err) {
    why = `${probe} cannot be read or answered here (${(err as Error).message})`;
  }
  let second: o3ml.v1.ColocateResponse;
  try {
    // Sent even after a failure here, so that the service deletes its probe file at once.
    second = await call({ probe: first.probe, challenge: seen, answer: why ? Buffer.alloc(0) : answer });
  } catch (err) {
    if (unanswered(err)) throw err;
    return { why: `the handshake failed (${(err as Error).message})` };
  }
  if (why) return { why };
  if (!second.colocated) return { why: `the service could not read this process's answer in ${first.stagingDir}` };
  return { stagingDir: first.stagingDir };
}
