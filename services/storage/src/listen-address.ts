import { chmod, lstat, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { resolve } from "node:path";
import { unixSocketPath } from "@o3ml/client";
import { O3mlError } from "@o3ml/errors";
import { parseHostPort } from "./service-options.js";

/** Where `o3ml serve --listen` takes calls: a TCP host:port, or a unix socket (`unix:/path`). */
export type ListenAddress = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

/**
 * Reads `--listen`: host:port, or unix:PATH / unix:///absolute/path, the
 * spellings clients accept in O3ML_SERVICE (packages/client/src/service-address.ts). A relative
 * socket path is made absolute, so the address the service prints works from
 * any folder.
 */
export function parseListen(value: string, flag = "--listen"): ListenAddress {
  const text = value.trim();
  const socket = unixSocketPath(text);
  if (socket !== undefined) {
    if (!socket) throw new O3mlError("INVALID_ARGUMENT", `${flag} ${JSON.stringify(value)} names no socket path: write unix:/path/to/socket`);
    return { kind: "unix", path: resolve(socket) };
  }
  return { kind: "tcp", ...parseHostPort(text, flag) };
}

/**
 * Makes `path` free for a new socket: nothing there is fine; a socket no
 * process listens on (left by a service that died) is removed; a socket some
 * process answers on, or a file that is no socket, is an error saying what to
 * do, and is left alone.
 */
export async function claimSocketPath(path: string, flag = "--listen"): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw new O3mlError("FAILED_PRECONDITION", `cannot listen on unix:${path}: ${err.message}`, { address: `unix:${path}` }, { cause: err });
  });
  if (!st) return;
  if (!st.isSocket()) {
    throw new O3mlError("FAILED_PRECONDITION", `cannot listen on unix:${path}: a file that is not a socket is there; move it away, or give another path with ${flag} unix:/path`, {
      address: `unix:${path}`,
    });
  }
  const answer = await new Promise<"live" | "stale" | Error>((done) => {
    const probe = connect(path);
    probe.once("connect", () => (probe.destroy(), done("live")));
    probe.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED" || err.code === "ENOENT" ? "stale" : err));
  });
  if (answer === "live") {
    throw new O3mlError(
      "FAILED_PRECONDITION",
      `cannot listen on unix:${path}: another process is serving on that socket (another o3ml serve?); stop it, or give another path with ${flag} unix:/path`,
      { address: `unix:${path}` },
    );
  }
  if (answer instanceof Error) {
    throw new O3mlError("FAILED_PRECONDITION", `cannot listen on unix:${path}: could not tell whether a process serves on it (${answer.message})`, { address: `unix:${path}` }, { cause: answer });
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw new O3mlError("FAILED_PRECONDITION", `cannot listen on unix:${path}: a stale socket is there and cannot be removed (${err.message})`, { address: `unix:${path}` }, { cause: err });
  });
}

/**
 * Binds with a umask that leaves the socket file to its owner from the moment
 * it exists (a chmod afterwards would leave a moment in which any local user
 * could connect), then checks the mode.
 */
export async function bindOwnerOnly<T>(path: string, bind: () => Promise<T>): Promise<T> {
  // A worker thread may not change the umask (Node refuses); the chmod below then does it alone.
  let before: number | undefined;
  try {
    before = process.umask(0o077);
  } catch {
    before = undefined;
  }
  let bound: T;
  try {
    bound = await bind();
  } finally {
    if (before !== undefined) process.umask(before);
  }
  await chmod(path, 0o600);
  return bound;
}
