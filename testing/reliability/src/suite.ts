import { mkdtempSync, rmSync, statfsSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { FaultKind } from "@o3ml/standin";
import { startCluster, type Cluster } from "./cluster.js";
import { runContractProbes } from "./contract-probes.js";
import { runCrashMatrix, type CrashPoint } from "./crash-matrix.js";
import { runDamageProbes } from "./damage-probes.js";
import { pushFaultDataset, runFaultMatrix, type FaultCell } from "./fault-matrix.js";
import { runHostile } from "./hostile.js";
import { runLoad, type LoadReport } from "./load.js";
import type { CaseResult } from "./outcome.js";
import { scanForSecrets, type ScanReport } from "./secrets-scan.js";
import { runSharedBucketGc, type SharedBucketGcReport } from "./shared-bucket-gc.js";

/**
 * The whole reliability suite against one set of real processes (MinIO, the
 * O3-profile layer, `o3ml serve`, trainers, the CLI): hostile input, the fault
 * matrix, the crash matrix, load, then the secrets scan over every log. The
 * quick profile is a subset of the same code that fits inside `npm test`.
 */
export interface SuiteOptions {
  quick: boolean;
  seed: number;
  log?: (line: string) => void;
}

export interface Summary {
  faultsInjected: number;
  faultsRecovered: number;
  failedWithClearError: number;
  silentCorruptions: number;
  crashPoints: number;
  crashRecovered: number;
  hostileInputs: number;
  hostileHandled: number;
  // Optional: results written before the defect-class probes existed have neither.
  probes?: number;
  probesHandled?: number;
  loadClients: number;
  loadSeconds: number;
  loadErrors: number;
  loadP99Ms: number;
  serviceMaxRssMiB: number;
  [more: string]: unknown;
}

export interface SuiteResult {
  summary: Summary;
  profile: "quick" | "full";
  seed: number;
  startedAt: string;
  durationSeconds: number;
  environment: Record<string, string>;
  faults: { cells: FaultCell[]; unclearErrors: number; faultsInClearErrors: number; operations: number };
  crashes: CrashPoint[];
  hostile: CaseResult[];
  /** Defect classes probed from outside: deletion + gc, multi-service gc, verify and listing with damage, contract fields. */
  probes: CaseResult[];
  load: LoadReport;
  /** Full profile only: two writing services and two collecting ones on one versioned bucket. */
  sharedBucketGc?: SharedBucketGcReport;
  secrets: ScanReport;
  phaseSeconds: Record<string, number>;
  acceptance: Record<string, boolean>;
}

const PROFILES = {
  quick: {
    fuzzPerMethod: 1,
    faultKinds: ["internal-error", "slow-down", "reset", "truncate", "bit-flip"] as FaultKind[],
    rates: [0.2],
    checkpointsPerCell: 1,
    shards: 6,
    crashPoints: 4,
    loadClients: 4,
    loadSeconds: 5,
    probeRounds: 1,
  },
  full: {
    fuzzPerMethod: 3,
    faultKinds: undefined,
    rates: [0.01, 0.05, 0.2],
    checkpointsPerCell: 3,
    shards: 16,
    crashPoints: 22,
    loadClients: 16,
    loadSeconds: 60,
    probeRounds: 3,
  },
};

async function hasTopLevelVerify(c: Cluster): Promise<boolean> {
  const r = await c.cli(["verify", "--help"]);
  return r.code === 0 && /--json/.test(r.stdout);
}

export async function runSuite(opts: SuiteOptions): Promise<SuiteResult> {
  const log = opts.log ?? (() => {});
  const p = opts.quick ? PROFILES.quick : PROFILES.full;
  const started = Date.now();
  // Free space matters on a shared machine: MinIO refuses writes near a full disk.
  const freeGiB = () => {
    const f = statfsSync(tmpdir());
    return ((f.bavail * f.bsize) / 2 ** 30).toFixed(1);
  };
  const freeAtStart = freeGiB();
  const loadAtStart = loadavg()[0]!.toFixed(1);
  const root = mkdtempSync(join(tmpdir(), "o3ml-reliability-"));
  const phaseSeconds: Record<string, number> = {};
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    log(`[reliability] ${name}...`);
    const r = await fn();
    phaseSeconds[name] = Math.round((Date.now() - t) / 100) / 10;
    log(`[reliability] ${name} done in ${phaseSeconds[name]} s`);
    return r;
  };
  const c = await phase("start", () => startCluster(root, opts.seed));
  let keep = true;
  try {
    const hostile = await phase("hostile", () => runHostile(c, { seed: opts.seed, fuzzPerMethod: p.fuzzPerMethod }));
    const dataset = await phase("dataset", () => pushFaultDataset(c, root, opts.seed, p.shards));
    const cells = await phase("faults", () =>
      runFaultMatrix(c, { seed: opts.seed, dataset, kinds: p.faultKinds, rates: p.rates, checkpointsPerCell: p.checkpointsPerCell, shardsPerEpoch: p.shards }),
    );
    const verifyMode = (await hasTopLevelVerify(c)) ? "verify" : "per-item";
    const crashes = await phase("crashes", () => runCrashMatrix(c, root, { seed: opts.seed, points: p.crashPoints, cliVerify: verifyMode }));
    const probes = await phase("probes", async () => [...(await runDamageProbes(c, root, { seed: opts.seed, rounds: p.probeRounds })), ...(await runContractProbes(c))]);
    // A fresh service incarnation, so its peak RSS is the load's.
    const before = c.service.peakRss;
    await c.service.stop();
    c.service.peakRss = 0;
    await c.service.start();
    const load = await phase("load", () => runLoad(c, { seed: opts.seed, clients: p.loadClients, seconds: p.loadSeconds, dataset }));
    const serviceMaxRss = Math.max(before, c.service.peakRss);
    await c.service.stop();
    const sharedBucketGc = opts.quick
      ? undefined
      : await phase("shared-bucket gc", () => runSharedBucketGc({ root: join(root, "shared-bucket-gc"), seconds: 60, graceSeconds: 3, log }));
    const texts = [...cells.flatMap((x) => x.errors), ...crashes.flatMap((x) => x.failures), ...hostile.cases.map((x) => x.detail), ...probes.map((x) => x.detail), ...load.errorSamples];
    const secrets = scanForSecrets(c.logDir, texts, c.secrets());
    const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);
    const summary: Summary = {
      faultsInjected: sum(cells, (x) => x.faultsInjected),
      faultsRecovered: sum(cells, (x) => x.faultsRecovered),
      failedWithClearError: sum(cells, (x) => x.clearErrors),
      silentCorruptions: sum(cells, (x) => x.silentCorruptions),
      crashPoints: crashes.length,
      crashRecovered: crashes.filter((x) => x.recovered).length,
      hostileInputs: hostile.cases.length,
      hostileHandled: hostile.cases.filter((x) => x.handled).length,
      probes: probes.length,
      probesHandled: probes.filter((x) => x.handled).length,
      loadClients: load.clients,
      loadSeconds: load.seconds,
      loadErrors: load.errors,
      loadP99Ms: load.p99Ms,
      serviceMaxRssMiB: Math.round(serviceMaxRss / 1048576),
      faultOperations: sum(cells, (x) => x.operations),
      unclearErrors: sum(cells, (x) => x.unclearErrors),
      faultsInClearErrors: sum(cells, (x) => x.faultsInClearErrors),
      orphansReclaimed: sum(crashes, (x) => x.orphansReclaimed),
      secretLeaks: secrets.leaks.length,
      loadOperations: sum(Object.values(load.operations), (x) => x),
      loadP50Ms: load.p50Ms,
      loadPeakRssMiB: load.servicePeakRssMiB,
    };
    const acceptance = {
      zeroSilentCorruptions: summary.silentCorruptions === 0,
      everyFaultedOperationRecoveredOrClear: summary.unclearErrors === 0,
      allCrashesRecovered: summary.crashRecovered === summary.crashPoints && summary.crashPoints >= (opts.quick ? 1 : 20),
      allHostileInputsHandled: summary.hostileHandled === summary.hostileInputs,
      allDefectProbesHandled: probes.length > 0 && probes.every((x) => x.handled),
      zeroLoadErrors: summary.loadErrors === 0,
      noSecretsInLogs: secrets.leaks.length === 0 && secrets.files > 0,
      serviceRssBounded: summary.serviceMaxRssMiB > 0 && summary.serviceMaxRssMiB < 1024,
      ...(sharedBucketGc ? { sharedBucketGcKeepsEveryCommit: sharedBucketGc.lost.length === 0 && sharedBucketGc.kept > 0 && sharedBucketGc.blobsCollected > 0 } : {}),
    };
    const failed = Object.values(acceptance).some((ok) => !ok);
    keep = failed;
    return {
      summary,
      profile: opts.quick ? "quick" : "full",
      seed: opts.seed,
      startedAt: new Date(started).toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      environment: { node: process.version, s3: "MinIO (restartable, data on disk) behind the O3-profile layer", cores: String((await import("node:os")).cpus().length), freeDiskGiB: `${freeAtStart} at start, ${freeGiB()} at end`, loadAverage: `${loadAtStart} at start, ${loadavg()[0]!.toFixed(1)} at end (1-minute; latencies are only comparable between runs at similar load)`, logs: failed ? c.logDir : "removed after a passing run" },
      faults: { cells, unclearErrors: summary.unclearErrors as number, faultsInClearErrors: summary.faultsInClearErrors as number, operations: summary.faultOperations as number },
      crashes,
      hostile: hostile.cases,
      probes,
      load,
      ...(sharedBucketGc ? { sharedBucketGc } : {}),
      secrets,
      phaseSeconds,
      acceptance,
    };
  } finally {
    await c.stop();
    // Logs of a failing run stay for inspection; a passing run leaves nothing behind.
    if (!keep) rmSync(root, { recursive: true, force: true });
  }
}
