import { spawn, type ChildProcess } from "node:child_process";

export interface ManagedProcess {
  child: ChildProcess;
  alive(): boolean;
  /** Recent output, for error messages when start-up fails. */
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a server process whose lifetime is tied to ours (killed on exit). */
export function manage(cmd: string, args: string[], env: NodeJS.ProcessEnv): ManagedProcess {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  const keep = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  child.on("error", (e) => {
    exited = true;
    tail += String(e);
  });
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  return {
    child,
    alive: () => !exited,
    output: () => tail,
    stop: () =>
      new Promise<void>((resolve) => {
        process.removeListener("exit", onExit);
        if (exited) return resolve();
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}
