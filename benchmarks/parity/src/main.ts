/**
 * The S3-vs-O3 parity benchmark: `npm run bench [-- --quick]`.
 *
 * One target at a time (`s3`, then `o3`; see targets.ts), so that one
 * store's servers never compete with the other's measurements: start it and
 * an `o3ml serve` of its own, run every workflow of the project and the raw
 * S3 operations under them (the parity matrix), measure o3ml beside the
 * peers on the same endpoint and data (training paths with the Python
 * harness, objects with tinybench), repeat the object figures on `o3`
 * behind an emulated WAN link, stop it. Then the report (see run-plan for
 * where). Exits non-zero when a parity cell fails unexpectedly.
 */
import { cpus, loadavg } from "node:os";
import { rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { O3mlError } from "@o3ml/errors";
import { ServiceClient } from "@o3ml/client";
import { makeDatasetFixture } from "./dataset-fixture.js";
import { renderDocSection, updateDocSection } from "./doc-section.js";
import { startLoadWatch, type HostLoad } from "./host-load.js";
import { afterTrainingChecks, datasetChecks, datasetName } from "./lifecycle-checks.js";
import { benchObjects, type BenchFailure } from "./object-bench.js";
import { objectChecks } from "./object-checks.js";
import { runCheck, toRows, unexpectedFailures, type ParityCell, type WorkflowCheck } from "./parity-matrix.js";
import { pythonFor, repoRoot, startPythonHarness } from "./python-harness.js";
import { cliPath } from "./service-process.js";
import { rawS3Checks } from "./raw-s3-checks.js";
import { compare, measurement, writeReport, type Measurement, type Report, type Unavailable } from "./results.js";
import { planFromArgs } from "./run-plan.js";
import { coverage, redCells, summarize } from "./summary.js";
import { openSession } from "./target-session.js";
import { remoteTargetConfigs, startTarget, TARGET_NAMES, type EndpointKind, type Target, type TargetName } from "./targets.js";
import { netemStatus, startWanLink } from "./wan-link.js";
import { expectedCoverage, pythonWorkflows, TS_OBJECTS, WAN_OBJECTS } from "./workflows.js";

type Cells = Array<{ check: Pick<WorkflowCheck, "workflow" | "layer" | "about">; cell: ParityCell }>;

// The o3-client logs each capability probe at info; the benchmark's own lines say what matters.
process.env.O3ML_LOG_LEVEL ??= "warn";
// The Python harness runs o3ml's gc between its cells with the CLI (see python/cleaner.py).
process.env.O3ML_BENCH_CLI = [process.execPath, cliPath].join("\t");
// Ctrl-C or a CI timeout: exit normally so the 'exit' hooks stop every server this run started.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
const started = performance.now();
const log = (m: string) => console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
const plan = planFromArgs(process.argv.slice(2));
const load = startLoadWatch();
if (loadavg()[0]! > 0.5 * cpus().length) log(`WARNING: the host is busy before the run starts (load ${loadavg().map((l) => l.toFixed(1)).join("/")} on ${cpus().length} cores); figures will be noisy`);
const latestDir = resolve(repoRoot, plan.out.latestDir);
const python = pythonFor(plan.mode === "full");
const remote = remoteTargetConfigs(plan.configPath);
const data = makeDatasetFixture(plan.dataset.samples, plan.dataset.sampleBytes);
const cells: Record<TargetName, Cells> = { s3: [], o3: [] };
const measurements: Measurement[] = [];
const unavailable: Unavailable[] = [];
const notes: string[] = [];
const described: Record<string, string> = {};
const endpoints: Record<string, { kind: EndpointKind; url: string }> = {};
let wanNote = "";
let wanTarget: string | undefined;
const netem = netemStatus();

log(`${plan.mode} run, ${plan.repeats} repeats after ${plan.warmup} warm-up per cell; Python ${python}`);
const harness = startPythonHarness(python, log, join(latestDir, "harness.log"));

function record(name: TargetName, target: Target, check: Pick<WorkflowCheck, "workflow" | "layer" | "about">, cell: ParityCell): void {
  cells[name].push({ check, cell: { ...cell, endpoint: target.kind } });
  log(`${name} ${cell.status.padEnd(8)} ${check.workflow}${cell.status === "pass" ? "" : `: ${cell.notes}`}`);
}

async function runChecks(name: TargetName, target: Target, checks: WorkflowCheck[]): Promise<void> {
  for (const check of checks) record(name, target, check, await runCheck(check));
}

function benchFailures(target: string, workflow: string, failures: BenchFailure[]): Unavailable[] {
  return failures.map((f) => ({ target, peer: f.who, workflow, what: f.what, reason: f.reason, kind: "failed" as const }));
}

/** Everything measured on one target, while only its servers run. */
async function runTarget(name: TargetName, target: Target): Promise<void> {
  const s = await openSession(target);
  const client = new ServiceClient(s.service);
  const pulled = join(s.home, "pulled-shards");
  try {
    log(`${name}: ${target.describe} (${target.kind}), bucket ${target.bucket}, service ${s.service}`);
    await runChecks(name, target, rawS3Checks(s));
    await runChecks(name, target, objectChecks(s, client));
    await runChecks(name, target, datasetChecks(s, data, plan.dataset.shardSize, pulled));
    try {
      for (const row of await harness.parity(s, data, datasetName(s))) record(name, target, { workflow: row.workflow, layer: "o3ml", about: row.about }, row.cell);
    } catch (err) {
      const e = O3mlError.from(err);
      record(name, target, { workflow: "Python workflows", layer: "o3ml", about: "dataset stream, checkpoint save/load/resume" }, { status: "fail", ms: 0, notes: e.message });
    }
    await runChecks(name, target, afterTrainingChecks(s));

    log(`${name}: training paths, o3ml vs ${plan.python.peers.filter((p) => p !== "o3ml").join(", ")}`);
    try {
      const py = await harness.measure(s, data, datasetName(s), pulled, { ...plan.python, repeats: plan.repeats, warmup: plan.warmup });
      for (const f of py.results) {
        // Python metrics name no target; it goes before a trailing statistic, as the TypeScript ones read.
        const metric = f.metric.replace(/( p50| p99| MiB\/s)?$/, (sfx) => ` (${name})${sfx}`);
        measurements.push(
          measurement({ who: f.peer, metric, unit: f.unit, higherIsBetter: f.higherIsBetter, workflow: f.workflow, target: name, endpoint: target.kind, primary: f.primary, ...(f.note ? { note: f.note } : {}) }, f.values),
        );
      }
      unavailable.push(...py.unavailable.map((u) => ({ target: name, ...u })));
    } catch (err) {
      const reason = O3mlError.from(err).message;
      log(`${name}: Python measurements failed: ${reason}`);
      for (const workflow of pythonWorkflows(plan.python)) {
        for (const peer of plan.python.peers) unavailable.push({ target: name, peer, workflow, what: "Python harness", reason, kind: "failed" });
      }
    }

    savePartial(`after the Python measurements on ${name}`);
    log(`${name}: objects, o3ml vs @aws-sdk/client-s3`);
    const bench = await benchObjects(s, client, plan.objects, { label: name, endpoint: target.kind, workflow: TS_OBJECTS }, log);
    measurements.push(...bench.measurements);
    unavailable.push(...benchFailures(name, TS_OBJECTS, bench.failures));
  } finally {
    client.close();
    await s.close();
  }

  // WAN: the o3 target again, through an emulated link (local targets only: a remote one is already far away).
  if (name !== "o3") return;
  if (!target.local) {
    wanNote = "o3 is a remote endpoint: its figures already include the real network";
    return;
  }
  const { latencyMs, bandwidthMiBps } = plan.wan;
  wanTarget = "o3+WAN";
  const link = await startWanLink(target.endpoint, latencyMs, bandwidthMiBps);
  wanNote = `o3 via WAN ${latencyMs} ms, ${bandwidthMiBps} MiB/s: a TCP relay delaying each direction by ${latencyMs} ms and pacing to ${bandwidthMiBps} MiB/s (netem ${netem})`;
  log(wanNote);
  try {
    const w = await openSession({ ...target, endpoint: link.endpoint });
    const wclient = new ServiceClient(w.service);
    try {
      const bench = await benchObjects(w, wclient, plan.wan.objects, { label: wanTarget, endpoint: "local O3 profile via WAN relay", workflow: WAN_OBJECTS }, log);
      measurements.push(...bench.measurements);
      unavailable.push(...benchFailures(wanTarget, WAN_OBJECTS, bench.failures));
    } finally {
      wclient.close();
      await w.close();
    }
  } finally {
    await link.stop();
  }
}

try {
  for (const name of TARGET_NAMES) {
    let target: Target;
    try {
      target = await startTarget(name, remote[name]);
    } catch (err) {
      const e = O3mlError.from(err);
      notes.push(`Target ${name} did not start: ${e.message}`);
      log(`${name}: did not start: ${e.message}`);
      process.exitCode = 1;
      continue;
    }
    described[name] = target.describe;
    endpoints[name] = { kind: target.kind, url: target.local ? "127.0.0.1 (started by the run)" : target.endpoint };
    try {
      await runTarget(name, target);
    } catch (err) {
      // Keep what was measured: the report says where the run stopped, and the exit code fails.
      const e = O3mlError.from(err);
      notes.push(`The run stopped early on ${name}: ${e.code}: ${e.message.replace(/\s+/g, " ")}`);
      log(`${name}: stopped early: ${e.message}`);
      process.exitCode = 1;
    } finally {
      await target.stop();
    }
    if (name !== TARGET_NAMES[TARGET_NAMES.length - 1]) savePartial(`after target ${name}`);
  }
} finally {
  await harness.close();
  rmSync(data.dir, { recursive: true, force: true });
}

/**
 * The report of what has been measured so far. The run writes it after each
 * phase as well (savePartial), so a crash late in a long run keeps what was
 * measured before it.
 */
function buildReport(hostLoad: HostLoad, partial?: string): Report {
  const parity = toRows(cells);
  const comparisons = compare(measurements);
  const expected = expectedCoverage(Object.keys(described), plan.python, wanTarget);
  const covered = coverage(expected, measurements, unavailable);
  const runNotes = [
    ...(partial ? [`PARTIAL: written ${partial}; the run was still going, so later targets and workflows are missing or red.`] : []),
    ...notes,
    `Dataset: ${data.samples} samples of ${data.sampleBytes / 1024} KiB (${(data.totalBytes / 1048576).toFixed(0)} MiB), o3ml shards of ${plan.dataset.shardSize}; boto3, s3fs and s3torchconnector read the same WebDataset tar shards (o3ml dataset pull of that version, uploaded as plain objects); litdata and MosaicML streaming read their own formats of the same samples; local-disk reads the pulled tar shards from local files (no store), the epochs' reference.`,
    `Objects (TypeScript, tinybench): o3ml = ServiceClient → o3ml serve (own process) → store; peer = @aws-sdk/client-s3 PutObject/GetObject to the same store. Fresh bytes on every put (Python too), so dedup never helps o3ml there.`,
    `Python (one process, each target in turn): o3ml = O3Client / O3CheckpointIO (async_save=True for the asynchronous save) / O3ShardDataset through the same service; peers ${plan.python.peers.filter((p) => p !== "o3ml").join(", ")}; every peer's asynchronous save is Lightning's AsyncCheckpointIO around its checkpoint path.`,
    `WAN: ${wanNote || "not run"}.`,
    `Clean-up, outside every timed section: each round's objects are deleted once measured (a peer's by key and version; o3ml's through its service, as o3ml rm does), and after each cell o3ml's gc with grace 0 frees every version of what nothing reaches any more (safe: nothing else writes a local target's bucket). On a remote target o3ml's deleted data waits for a gc with the usual grace.`,
  ];
  return {
    schema: 2,
    at: new Date().toISOString(),
    mode: plan.mode,
    command: plan.command,
    seconds: (performance.now() - started) / 1000,
    host: { cpus: cpus().length, loadavg: loadavg(), node: process.version, platform: `${process.platform}-${process.arch}`, load: hostLoad },
    method: {
      warmup: plan.warmup,
      repeats: plan.repeats,
      order: "alternating: o3ml first in even rounds, last in odd rounds",
      targets: "one at a time: s3 started, measured and stopped before o3",
      statistic: "median and interquartile range (linear interpolation) of the measured rounds",
    },
    targets: described,
    endpoints,
    wan: { method: "tcp-relay", netem, latencyMs: plan.wan.latencyMs, bandwidthMiBps: plan.wan.bandwidthMiBps },
    notes: runNotes,
    parity,
    comparisons,
    measurements,
    unavailable,
    summary: summarize(comparisons, unavailable),
    coverage: covered,
  };
}

/** latest.* with what is measured so far (never full.*: only a finished run is committed). */
function savePartial(when: string): void {
  try {
    writeReport(latestDir, "latest", buildReport(load.finish(), when));
    log(`partial results ${when} written to ${relative(repoRoot, latestDir) || latestDir}/latest.*`);
  } catch (err) {
    log(`partial results ${when} could not be written: ${(err as Error).message}`);
  }
}

const hostLoad = load.finish();
const report = buildReport(hostLoad);
const covered = report.coverage;
const parity = report.parity;
const written = writeReport(latestDir, "latest", report).written;
if (plan.out.committedDir) {
  const committed = writeReport(resolve(repoRoot, plan.out.committedDir), "full", report);
  written.push(...committed.written);
  // docs/performance.md shows the committed run: its section between the markers is rewritten from it.
  const page = join(repoRoot, "docs", "performance.md");
  const plotDir = relative(dirname(page), resolve(repoRoot, plan.out.committedDir));
  if (updateDocSection(page, renderDocSection(report, committed.plots, plotDir))) written.push(page);
}
log(`wrote ${written.map((w) => (w.startsWith(repoRoot) ? w.slice(repoRoot.length + 1) : w)).join(", ")}${plan.out.committedDir ? "" : ` (not full.*: ${plan.out.why})`}`);
for (const red of redCells(covered)) log(`RED ${red.target} ${red.workflow} ${red.peer}: ${red.cell.status}: ${red.cell.reasons.join("; ").slice(0, 300)}`);
if (hostLoad.warning) {
  const bar = "!".repeat(78);
  console.log(`${bar}\n${hostLoad.warning}\n${bar}`);
}
const failures = unexpectedFailures(parity);
if (failures.length) {
  console.error(`${failures.length} parity cells failed:\n  ${failures.join("\n  ")}`);
  process.exitCode = 1;
}
