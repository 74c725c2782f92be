import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The o3ml CLI's entry point (run with this Node). */
export const cliPath = fileURLToPath(new URL("../../../packages/o3ml/bin/o3ml.js", import.meta.url));

/**
 * Starts `o3ml serve` as its own process, as users run it, so that the
 * service's CPU work is not charged to (or slowed by) the benchmark process.
 */
export async function startServiceProcess(env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ address: string; metricsPort?: number; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [cliPath, "serve", "--listen", "127.0.0.1:0", "--json", "--create-bucket", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Tied to our lifetime, like the standin's servers: an interrupted run leaves no service behind.
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  child.once("exit", () => process.removeListener("exit", onExit));
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const ready = await new Promise<{ address: string; metricsPort?: number }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`o3ml serve did not start: ${stderr}`)), 60_000);
    createInterface({ input: child.stdout }).on("line", (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; address: string; metricsPort?: number };
        if (msg.event === "listening") {
          clearTimeout(t);
          resolve(msg);
        }
      } catch {
        // Not the ready line.
      }
    });
    child.once("exit", (code) => reject(new Error(`o3ml serve exited with ${code}: ${stderr}`)));
  });
  return {
    ...ready,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
