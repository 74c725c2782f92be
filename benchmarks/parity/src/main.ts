/**
 * The S3-vs-O3 parity benchmark: `npm run bench [-- --quick]`.
 *
 * On each target (`s3`, `o3`; see targets.ts) it starts an `o3ml serve` of
 * its own, runs every workflow of the project and the raw S3 operations
 * under them (the parity matrix), then measures o3ml beside the peers on the
 * same endpoint and data in the same run (TypeScript objects with tinybench,
 * training paths with the Python harness), then repeats the object figures
 * on `o3` behind an emulated WAN link. Writes benchmarks/results/.
 * Exits non-zero when a parity cell fails unexpectedly.
 */
import { cpus, loadavg } from "node:os";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { O3mlError } from "@o3ml/errors";
import { ServiceClient } from "@o3ml/storage-service";
import { makeDatasetFixture } from "./dataset-fixture.js";
import { afterTrainingChecks, datasetChecks, datasetName } from "./lifecycle-checks.js";
import { benchObjects } from "./object-bench.js";
import { objectChecks } from "./object-checks.js";
import { runCheck, toRows, unexpectedFailures, type ParityCell, type WorkflowCheck } from "./parity-matrix.js";
import { pythonFor, repoRoot, startPythonHarness } from "./python-harness.js";
import { rawS3Checks } from "./raw-s3-checks.js";
import { compare, writeReport, type Measurement, type Report, type Unavailable } from "./results.js";
import { planFromArgs } from "./run-plan.js";
import { openSession, type TargetSession } from "./target-session.js";
import { startTargets, TARGET_NAMES, type TargetName } from "./targets.js";
import { netemStatus, startWanLink } from "./wan-link.js";

type Cells = Array<{ check: Pick<WorkflowCheck, "workflow" | "layer" | "about">; cell: ParityCell }>;

// The o3-client logs each capability probe at info; the benchmark's own lines say what matters.
process.env.O3ML_LOG_LEVEL ??= "warn";
// Ctrl-C or a CI timeout: exit normally so the 'exit' hooks stop every server this run started.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
const started = performance.now();
const log = (m: string) => console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
const plan = planFromArgs(process.argv.slice(2));
const python = pythonFor(plan.mode === "full");
const data = makeDatasetFixture(plan.dataset.samples, plan.dataset.sampleBytes);
const cells: Record<TargetName, Cells> = { s3: [], o3: [] };
const measurements: Measurement[] = [];
const unavailable: Unavailable[] = [];
const notes: string[] = [];

async function runChecks(name: TargetName, checks: WorkflowCheck[]): Promise<void> {
  for (const check of checks) {
    const cell = await runCheck(check);
    cells[name].push({ check, cell });
    log(`${name} ${cell.status.padEnd(8)} ${check.workflow}${cell.status === "pass" ? "" : `: ${cell.notes}`}`);
  }
}

log(`${plan.mode} run; Python ${python}`);
const harness = startPythonHarness(python, log);
let targets: Awaited<ReturnType<typeof startTargets>>;
try {
  targets = await startTargets(plan.configPath);
} catch (err) {
  harness.cancel();
  throw err;
}
let wanNote = "";
const netem = netemStatus();
const sessions: TargetSession[] = [];
const clients: ServiceClient[] = [];
try {
  // 1. Raw S3, objects and dataset workflows, both targets at once (nothing here is a measurement to compare).
  const opened = await Promise.allSettled(TARGET_NAMES.map((name) => openSession(targets[name])));
  for (const o of opened) if (o.status === "fulfilled") sessions.push(o.value);
  for (const o of opened) if (o.status === "rejected") throw o.reason;
  for (const [i, name] of TARGET_NAMES.entries()) {
    log(`${name}: ${targets[name].describe}, bucket ${targets[name].bucket}, service ${sessions[i]!.service}`);
    clients.push(new ServiceClient(sessions[i]!.service));
  }
  await Promise.all(
    TARGET_NAMES.map(async (name, i) => {
      await runChecks(name, rawS3Checks(sessions[i]!));
      await runChecks(name, objectChecks(sessions[i]!, clients[i]!));
      await runChecks(name, datasetChecks(sessions[i]!, data, plan.dataset.shardSize));
    }),
  );

  // 2. The Python side for both targets in one interpreter: training workflows, then the peers.
  try {
    const py = await harness.run(sessions, data, datasetName, { parity: true, ...plan.python });
    for (const name of TARGET_NAMES) {
      const r = py[name];
      if (!r) continue;
      for (const row of r.parity) {
        cells[name].push({ check: { workflow: row.workflow, layer: "o3ml", about: row.about }, cell: row.cell });
        log(`${name} ${row.cell.status.padEnd(8)} ${row.workflow}${row.cell.status === "pass" ? "" : `: ${row.cell.notes}`}`);
      }
      // Python metrics name no target; insert it before a trailing statistic, as the TypeScript ones read.
      measurements.push(...r.results.map((m) => ({ ...m, metric: m.metric.replace(/( p50| p99| MiB\/s)?$/, (sfx) => ` (${name})${sfx}`) })));
      unavailable.push(...r.unavailable.map((u) => ({ target: name, ...u })));
    }
  } catch (err) {
    const e = O3mlError.from(err);
    for (const name of TARGET_NAMES) {
      cells[name].push({ check: { workflow: "Python harness", layer: "o3ml", about: "dataset stream, checkpoint save/load/resume" }, cell: { status: "fail", ms: 0, notes: e.message.slice(0, 400) } });
    }
    log(`FAIL Python harness: ${e.message}`);
  }

  // 3. Lifecycle after training, then TypeScript object throughput, target by target.
  for (const [i, name] of TARGET_NAMES.entries()) {
    const s = sessions[i]!;
    await runChecks(name, afterTrainingChecks(s));
    log(`${name}: object throughput, o3ml vs @aws-sdk/client-s3`);
    const bench = await benchObjects(s, clients[i]!, plan.objects, name, log);
    measurements.push(...bench.measurements);
    unavailable.push(...bench.failures.map((f) => ({ target: name, peer: f.who, what: f.what, reason: f.reason })));
  }
  for (const c of clients.splice(0)) c.close();
  for (const s of sessions.splice(0)) await s.close();

  // WAN: the o3 target again, reached through an emulated link (local targets only: a remote one is already far away).
  if (targets.o3.local) {
    const { latencyMs, bandwidthMiBps } = plan.wan;
    const link = await startWanLink(targets.o3.endpoint, latencyMs, bandwidthMiBps);
    const label = `o3 via WAN ${latencyMs} ms, ${bandwidthMiBps} MiB/s`;
    wanNote = `${label}: a TCP relay delaying each direction by ${latencyMs} ms and pacing to ${bandwidthMiBps} MiB/s (netem ${netem})`;
    log(wanNote);
    const s = await openSession({ ...targets.o3, endpoint: link.endpoint });
    const client = new ServiceClient(s.service);
    try {
      const bench = await benchObjects(s, client, plan.wan.objects, "o3+WAN", log);
      measurements.push(...bench.measurements);
      unavailable.push(...bench.failures.map((f) => ({ target: "o3+WAN", peer: f.who, what: f.what, reason: f.reason })));
    } finally {
      client.close();
      await s.close();
      await link.stop();
    }
  } else {
    wanNote = "o3 is a remote endpoint: its figures already include the real network";
  }
} catch (err) {
  // Keep what was measured: the report says where the run stopped, and the exit code fails.
  const e = O3mlError.from(err);
  notes.push(`The run stopped early: ${e.code}: ${e.message.split("\n")[0]!.slice(0, 300)}`);
  log(`stopped early: ${e.message}`);
  process.exitCode = 1;
} finally {
  harness.cancel();
  for (const c of clients) c.close();
  for (const s of sessions) await s.close();
  for (const t of Object.values(targets)) await t.stop();
  rmSync(data.dir, { recursive: true, force: true });
}

const parity = toRows(cells);
const comparisons = compare(measurements);
notes.push(
  `Dataset: ${data.samples} samples of ${data.sampleBytes / 1024} KiB (${(data.totalBytes / 1048576).toFixed(0)} MiB), o3ml shards of ${plan.dataset.shardSize}; every peer reads the same samples.`,
  `Objects (TypeScript, tinybench): o3ml = ServiceClient → o3ml serve (own process) → store; peer = @aws-sdk/client-s3 PutObject/GetObject to the same store. Fresh bytes on every put, so dedup never helps o3ml.`,
  `Python (one process, both targets in turn): o3ml = O3Client / O3CheckpointIO / O3ShardDataset through the same service; peers ${plan.python.peers.filter((p) => p !== "o3ml").join(", ")}.`,
  `WAN: ${wanNote}.`,
);
const report: Report = {
  schema: 1,
  at: new Date().toISOString(),
  mode: plan.mode,
  command: plan.mode === "quick" ? "npm run bench -- --quick" : "npm run bench",
  seconds: (performance.now() - started) / 1000,
  host: { cpus: cpus().length, loadavg: loadavg(), node: process.version, platform: `${process.platform}-${process.arch}` },
  targets: Object.fromEntries(TARGET_NAMES.map((n) => [n, targets[n].describe])),
  wan: { method: "tcp-relay", netem, latencyMs: plan.wan.latencyMs, bandwidthMiBps: plan.wan.bandwidthMiBps },
  notes,
  parity,
  comparisons,
  measurements,
  unavailable,
};
const written = writeReport(join(repoRoot, "benchmarks", "results"), report);
log(`wrote ${written.map((w) => w.slice(repoRoot.length + 1)).join(", ")}`);
const failures = unexpectedFailures(parity);
if (failures.length) {
  console.error(`${failures.length} parity cells failed:\n  ${failures.join("\n  ")}`);
  process.exitCode = 1;
}
