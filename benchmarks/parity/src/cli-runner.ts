/**
 * Runs the real `o3ml` command against a target's service, as a user would,
 * and returns its `--json` output. A non-zero exit is an O3mlError carrying
 * the command's own message.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { O3mlError } from "@o3ml/errors";
import type { TargetSession } from "./target-session.js";

const cli = fileURLToPath(new URL("../../../packages/o3ml/bin/o3ml.js", import.meta.url));

export function runCli<T = Record<string, unknown>>(s: TargetSession, args: string[], timeoutMs = 600_000): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, ...args, "--json"], { env: s.env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr || stdout || err.message).trim().split("\n").slice(-3).join(" ");
        reject(new O3mlError("INTERNAL", `o3ml ${args.slice(0, 2).join(" ")} failed (exit ${(err as { code?: unknown }).code}): ${why}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new O3mlError("INTERNAL", `o3ml ${args.slice(0, 2).join(" ")} printed no JSON: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

/** `k=v` pairs of the numeric and short string fields of a JSON summary, for a notes column. */
export function summary(obj: unknown, fields: string[]): string {
  const o = (obj ?? {}) as Record<string, unknown>;
  return fields
    .filter((f) => o[f] !== undefined && typeof o[f] !== "object")
    .map((f) => `${f}=${String(o[f])}`)
    .join(", ");
}
