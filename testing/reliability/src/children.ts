import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { constants } from "node:os";

/** Every process the suite started and that has not exited yet. */
const live = new Set<ChildProcess>();

// Node runs "exit" listeners on a normal end and on process.exit, not when a signal ends it:
// stopSuiteOnSignals turns the signals a user or a CI runner sends into such an exit.
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/**
 * Tracks `child` until it exits: whatever is still running when the suite's process exits
 * (MinIO, `o3ml serve`, the trainers' fork server, a CLI run) is killed with it, so a run that
 * is stopped leaves nothing listening or writing behind.
 */
export function tracked<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

/** Makes SIGINT, SIGTERM and SIGHUP end the process through "exit" (status 128 + the signal's number), which stops every tracked child. */
export function stopSuiteOnSignals(log: (line: string) => void): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      log(`[reliability] ${signal}: stopping ${live.size} process(es) the suite started`);
      process.exit(128 + constants.signals[signal]);
    });
  }
}

/** The parent process id of `pid` (Linux /proc), or undefined once it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    // Fields after the command's closing parenthesis: state, then the parent's id.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * Ends the process through "exit" (stopping every tracked child) once whoever started its
 * launcher is gone: `npm run` and `sh -c`, when sent a SIGTERM, end without passing it on, and
 * tsx, this process's parent, then lives on under init. Checked once a second, by a timer that
 * does not keep the process alive.
 */
export function stopWhenLauncherEnds(log: (line: string) => void): void {
  const launcher = process.ppid;
  const starter = parentOf(launcher);
  if (starter === undefined || starter <= 1) return; // started by init already: nothing to watch
  setInterval(() => {
    const now = parentOf(launcher);
    if (now === starter) return;
    log(`[reliability] the process that started this run (pid ${starter}) is gone: stopping ${live.size} process(es) the suite started`);
    process.exit(129);
  }, 1000).unref();
}
