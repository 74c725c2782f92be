/**
 * How busy the host was while the run measured: the load average before and
 * after, and the CPU that other processes used meanwhile (all of the host's
 * busy CPU time minus what this run and every process it started used).
 * On a shared 2-core host that is the difference between a figure and noise,
 * so the report warns loudly when either says the host was busy.
 */
import { cpus, loadavg } from "node:os";
import { readFileSync } from "node:fs";

export interface HostLoad {
  cpus: number;
  /** 1, 5 and 15 minute load averages when the run started and when it ended. */
  loadBefore: number[];
  loadAfter: number[];
  /** CPU cores other processes kept busy on average during the run, and this run with everything it started (Linux only). */
  otherCores?: number;
  ownCores?: number;
  busy: boolean;
  warning?: string;
}

/** Busy CPU ticks of the whole host (user, nice, system, irq, softirq, steal). */
function hostBusyTicks(): number | undefined {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    return f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0);
  } catch {
    return undefined;
  }
}

/**
 * Ticks this process and its waited-for children used (utime, stime, cutime,
 * cstime). Servers, the service and the harness are children: once they have
 * exited and been reaped their time is in cutime/cstime.
 */
function ownTicks(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    return f[11]! + f[12]! + f[13]! + f[14]!;
  } catch {
    return undefined;
  }
}

/** Thresholds: a load average above half the cores before the start, or other processes using a quarter of them. */
const BUSY_LOAD_PER_CPU = 0.5;
const BUSY_OTHER_PER_CPU = 0.25;

export function startLoadWatch(): { finish(): HostLoad } {
  const before = loadavg();
  const busy0 = hostBusyTicks();
  const own0 = ownTicks();
  const t0 = performance.now();
  return {
    finish(): HostLoad {
      const n = cpus().length;
      const after = loadavg();
      const busy1 = hostBusyTicks();
      const own1 = ownTicks();
      const seconds = (performance.now() - t0) / 1000;
      // USER_HZ is 100 on every Linux this runs on.
      const known = busy0 !== undefined && busy1 !== undefined && own0 !== undefined && own1 !== undefined && seconds > 0;
      const ownCores = known ? (own1 - own0) / 100 / seconds : undefined;
      const otherCores = known ? Math.max(0, (busy1 - busy0 - (own1 - own0)) / 100 / seconds) : undefined;
      const why: string[] = [];
      if (before[0]! > BUSY_LOAD_PER_CPU * n) why.push(`the load average was ${before[0]!.toFixed(1)} on ${n} cores when the run started`);
      if (otherCores !== undefined && otherCores > BUSY_OTHER_PER_CPU * n) why.push(`other processes kept ${otherCores.toFixed(2)} of ${n} cores busy on average during the run`);
      const out: HostLoad = { cpus: n, loadBefore: before, loadAfter: after, busy: why.length > 0 };
      if (otherCores !== undefined) out.otherCores = otherCores;
      if (ownCores !== undefined) out.ownCores = ownCores;
      if (why.length) out.warning = `THE HOST WAS BUSY: ${why.join("; ")}. Absolute figures are low and ratios noisy; rerun on a quiet host before citing them.`;
      return out;
    },
  };
}
