import { existsSync } from "node:fs";
import { join } from "node:path";
import { freePort, waitForHttp } from "./ports.js";
import { manage } from "./process.js";
import { repoRoot } from "./repo-root.js";
import type { S3Server } from "./s3-server.js";

/** Where moto's server lives: $O3ML_MOTO_SERVER, the checkout's .venv, or PATH. */
export function motoCommand(): string {
  if (process.env.O3ML_MOTO_SERVER) return process.env.O3ML_MOTO_SERVER;
  const root = repoRoot();
  const venv = root && join(root, ".venv", "bin", "moto_server");
  return venv && existsSync(venv) ? venv : "moto_server";
}

/** Starts moto's S3 server on 127.0.0.1. It keeps all data in memory. */
export async function startMoto(opts: { port?: number } = {}): Promise<S3Server> {
  const port = opts.port ?? (await freePort());
  const cmd = motoCommand();
  const proc = manage(cmd, ["-H", "127.0.0.1", "-p", String(port)], { ...process.env, MOTO_PORT: String(port) });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${endpoint}/moto-api/`, 30_000, `moto server (${cmd})`, proc.alive);
  } catch (err) {
    await proc.stop();
    throw new Error(
      `${(err as Error).message}\n${proc.output()}\nmoto is installed by 'npm run setup' into .venv; ` +
        `or point O3ML_MOTO_SERVER at a moto_server executable.`,
    );
  }
  return {
    kind: "moto",
    endpoint,
    region: "akave-network",
    accessKeyId: "o3ml-local",
    secretAccessKey: "o3ml-local-secret",
    ephemeral: true,
    stop: proc.stop,
  };
}
