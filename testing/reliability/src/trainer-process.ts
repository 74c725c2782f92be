import { spawn, type ChildProcess } from "node:child_process";
import { tracked } from "./children.js";
import { closeSync, openSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PYTHON, REPO_ROOT } from "./cluster.js";

const DIR = join(REPO_ROOT, "python-plugins/tests/reliability");

/**
 * Trainer processes (python-plugins/tests/reliability/trainer.py) forked by
 * fork_server.py, which imported torch, Lightning and o3ml once: each crash
 * point then starts a real, separate trainer process in about a second
 * instead of re-importing for ten or more on a loaded 2-core machine.
 */
export class ForkServer {
  private readonly proc: ChildProcess;
  private readonly ready: Promise<void>;
  private pidWaiters: ((pid: number) => void)[] = [];
  private readonly exits = new Map<number, (code: number) => void>();
  private readonly early = new Map<number, number>();

  constructor(env: NodeJS.ProcessEnv, logFile: string) {
    this.proc = tracked(spawn(PYTHON, [join(DIR, "fork_server.py")], { env, stdio: ["pipe", "pipe", "pipe"], cwd: DIR }));
    let stderr = "";
    this.proc.stderr!.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
      writeFileSync(logFile, stderr);
    });
    let buf = "";
    this.ready = new Promise((resolve, reject) => {
      this.proc.once("exit", (code) => reject(new Error(`the trainer fork server exited (${code}): ${stderr}`)));
      this.proc.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const [word, a, b] = buf.slice(0, nl).split(" ");
          buf = buf.slice(nl + 1);
          if (word === "READY") resolve();
          else if (word === "PID") this.pidWaiters.shift()?.(Number(a));
          else if (word === "EXIT") {
            const pid = Number(a);
            const done = this.exits.get(pid);
            if (done) done(Number(b));
            else this.early.set(pid, Number(b));
          }
        }
      });
    });
  }

  async start(args: string[], logFile: string): Promise<TrainerProcess> {
    await this.ready;
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const pid = await new Promise<number>((resolve) => {
      this.pidWaiters.push(resolve);
      this.proc.stdin!.write(`START ${[logFile, ...args].map(quote).join(" ")}\n`);
    });
    const exited = new Promise<number>((resolve) => {
      const early = this.early.get(pid);
      if (early !== undefined) resolve(early);
      else this.exits.set(pid, resolve);
    });
    return new TrainerProcess(pid, logFile, exited);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once("exit", r));
    this.proc.stdin!.end();
    this.proc.kill("SIGTERM");
    await gone;
  }
}

/** One forked trainer: its stdout line protocol, read by tailing its log file. */
export class TrainerProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number>;
  private done = false;
  private offset = 0;
  private partial = "";
  private readonly timer: NodeJS.Timeout;
  stderr = "";

  constructor(
    readonly pid: number,
    private readonly logFile: string,
    exited: Promise<number>,
  ) {
    this.timer = setInterval(() => this.poll(), 40);
    this.exited = exited.then((code) => {
      this.done = true;
      this.poll();
      clearInterval(this.timer);
      return code;
    });
  }

  private poll(): void {
    let fd: number;
    try {
      fd = openSync(this.logFile, "r");
    } catch {
      return;
    }
    try {
      const chunk = Buffer.alloc(1 << 20);
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = chunk.subarray(0, n).toString();
        this.stderr = (this.stderr + text).slice(-20_000);
        this.partial += text;
      }
    } finally {
      closeSync(fd);
    }
    let nl: number;
    while ((nl = this.partial.indexOf("\n")) >= 0) {
      this.lines.push(this.partial.slice(0, nl));
      this.partial = this.partial.slice(nl + 1);
    }
  }

  alive(): boolean {
    return !this.done;
  }

  /** The last non-empty output line: for a failed trainer, its exception. */
  lastLine(): string {
    return this.stderr.trim().split("\n").pop() ?? "";
  }

  /** The first line after index `from` matching `re`; fails on timeout or exit. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.poll();
      const hit = this.lines.slice(from).find((l) => re.test(l));
      if (hit) return hit;
      if (this.done) throw new Error(`the trainer exited before printing ${re}: ${this.lastLine()}\n${this.stderr.slice(-1500)}`);
      if (Date.now() > deadline) throw new Error(`the trainer printed no line matching ${re} within ${timeoutMs} ms; its output ends:\n${this.stderr.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  async kill(): Promise<void> {
    if (!this.done) {
      try {
        process.kill(this.pid, "SIGKILL");
      } catch {
        // Already gone: its exit is on its way.
      }
    }
    await this.exited;
  }

  /** Keys whose upload was acknowledged (SAVE_END), with the CID printed. */
  acknowledged(): Map<string, string> {
    this.poll();
    const out = new Map<string, string>();
    for (const l of this.lines) {
      const m = /^SAVE_END (\S+) (\S+)$/.exec(l);
      if (m) out.set(m[1]!, m[2]!);
    }
    return out;
  }

  /** The key of an upload announced but not acknowledged when the process died, if any. */
  inFlight(): string | undefined {
    this.poll();
    let at = -1;
    for (let i = 0; i < this.lines.length; i++) if (this.lines[i]!.startsWith("SAVE_BEGIN ")) at = i;
    if (at < 0) return undefined;
    const key = this.lines[at]!.slice("SAVE_BEGIN ".length);
    return this.lines.slice(at + 1).some((l) => l.startsWith(`SAVE_END ${key} `)) ? undefined : key;
  }
}
