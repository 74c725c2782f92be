import type { SuiteResult } from "./suite.js";

/**
 * docs/reliability.md from one run's result: every figure in it is read from
 * the same object that is written to docs/reliability.json.
 */
/** One table cell: a multi-line failure (a traceback) shows its first and its last line. */
function cell(text: string, max = 240): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const short = lines.length > 2 ? `${lines[0]} … ${lines[lines.length - 1]}` : lines.join(" ");
  return short.replace(/\|/g, "/").slice(0, max);
}

export function renderReport(r: SuiteResult): string {
  const s = r.summary;
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  const yes = (b: boolean) => (b ? "yes" : "**NO**");
  const lines: string[] = [];
  lines.push("# Reliability and security: results");
  lines.push("");
  lines.push(`Written by \`npm run test:reliability\` (${r.profile} profile, seed ${r.seed}) on ${r.startedAt}; the run took ${r.durationSeconds} s on ${r.environment.cores} cores (shared), Node ${r.environment.node}, free disk (GiB) ${r.environment.freeDiskGiB ?? "not recorded"}` +
    (r.environment.loadAverage ? `, load average ${r.environment.loadAverage}` : "") + ". " +
    `Every figure below comes from that run; \`docs/reliability.json\` holds the same numbers and every per-case detail.`);
  lines.push("");
  lines.push(`System under test: real processes on 127.0.0.1 — ${r.environment.s3}, \`o3ml serve\` as a child process with a bearer token, ` +
    "Lightning trainers (CPU) writing checkpoints through `O3CheckpointIO`, and the `o3ml` CLI. No mocks.");
  lines.push("");
  lines.push("## Summary");
  lines.push("");
  lines.push("| figure | value |");
  lines.push("| --- | --- |");
  const rows: [string, unknown][] = [
    ["faults injected (S3 requests answered with a fault)", s.faultsInjected],
    ["faults recovered (the operation returned the right bytes)", s.faultsRecovered],
    ["operations failed with a clear error (retry budget spent or corruption detected)", s.failedWithClearError],
    ["faults met by those failed operations", s.faultsInClearErrors],
    ["operations failed with an unclear error", s.unclearErrors],
    ["silent corruptions", s.silentCorruptions],
    ["crash points / recovered", `${s.crashPoints} / ${s.crashRecovered}`],
    ["orphaned blobs and manifests reclaimed by `o3ml gc` after crashes", s.orphansReclaimed],
    ["hostile inputs / handled", `${s.hostileInputs} / ${s.hostileHandled}`],
    ["defect-class probes / handled", `${s.probes ?? 0} / ${s.probesHandled ?? 0}`],
    ["load: clients × seconds", `${s.loadClients} × ${s.loadSeconds} s`],
    ["load: operations / errors", `${s.loadOperations} / ${s.loadErrors}`],
    ["load: p50 / p99 latency", `${s.loadP50Ms} ms / ${s.loadP99Ms} ms`],
    ["service peak RSS during load / whole run", `${s.loadPeakRssMiB} MiB / ${s.serviceMaxRssMiB} MiB`],
    ["secrets found in logs and error texts", s.secretLeaks],
  ];
  for (const [k, v] of rows) lines.push(`| ${k} | ${v} |`);
  lines.push("");
  lines.push("| acceptance | met |");
  lines.push("| --- | --- |");
  for (const [k, v] of Object.entries(r.acceptance)) lines.push(`| ${k} | ${yes(v)} |`);
  lines.push("");
  lines.push("## Fault matrix");
  lines.push("");
  lines.push("Each fault type of the O3-profile layer (`testing/standin`), drawn at the given rate of S3 requests by a seeded PRNG, " +
    "during a dataset epoch (every shard read back from the bucket, bypassing the service cache, and re-hashed to its CID by the client) " +
    "and during checkpoint saves (saved, loaded back and compared byte for byte; after the matrix, every acknowledged save is read back again without faults). " +
    "Operations run one at a time, so the faults an operation met are exactly the layer's counter delta. Latency adds 150 ms, a stall holds a response for 1.5 s.");
  lines.push("");
  lines.push("| fault | rate | workload | ops | ok | clear error | unclear | silent corruption | faults | recovered | first error |");
  lines.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const x of r.faults.cells) {
    lines.push(`| ${x.kind} | ${pct(x.rate)} | ${x.workload} | ${x.operations} | ${x.ok} | ${x.clearErrors} | ${x.unclearErrors} | ${x.silentCorruptions} | ${x.faultsInjected} | ${x.faultsRecovered} | ${cell(x.errors[0] ?? "", 160)} |`);
  }
  lines.push("");
  lines.push("## Crash matrix");
  lines.push("");
  lines.push("Seeded SIGKILLs. Trainer runs form a chain: each start resumes the run the previous one left, so every trainer crash is followed by a real resume. " +
    "A point is recovered when the next start resumes from the newest committed checkpoint and every save the trainer saw acknowledged is still there; " +
    "every visible checkpoint and dataset version verifies (nothing partial is visible); `o3ml verify` (or `o3ml ckpt verify` / `o3ml dataset verify` where the top-level command is absent) passes; " +
    "and `o3ml gc --grace 0` leaves nothing unreachable behind (a dry run right after finds nothing). A killed dataset push is pushed again and must verify.");
  lines.push("");
  lines.push("| # | kind | what happened | recovered | orphans reclaimed | seconds | failures |");
  lines.push("| --- | --- | --- | --- | --- | --- | --- |");
  for (const x of r.crashes) lines.push(`| ${x.index} | ${x.kind} | ${x.what.replace(/\|/g, "/")} | ${yes(x.recovered)} | ${x.orphansReclaimed} | ${x.seconds.toFixed(1)} | ${x.failures.map((f) => cell(f)).join("; ")} |`);
  lines.push("");
  lines.push("## Hostile input");
  lines.push("");
  const groups = new Map<string, { n: number; ok: number; bad: string[] }>();
  for (const x of r.hostile) {
    const g = groups.get(x.group) ?? { n: 0, ok: 0, bad: [] };
    g.n++;
    if (x.handled) g.ok++;
    else g.bad.push(`${x.name}: ${x.detail}`);
    groups.set(x.group, g);
  }
  lines.push("Fuzzed gRPC messages on every method of every service (random bytes, mutated frames, wrong wire types, declared lengths of 4 GiB and 2^62), " +
    "streams closed early, bad keys (traversal, NUL, control characters, reserved segments, 10 KB), oversized metadata and labels, huge declared sizes, " +
    "malformed refs, manifests and events planted in the bucket, a service with a wrong S3 secret, and missing, wrong, rotated and wrongly-schemed tokens. " +
    "Handled means a clear error (a code from the closed set, a message, no stack trace, no secret) — or an answer, for fuzz that decodes to a valid request — with the service still serving; " +
    "the targeted cases must leave the bucket unchanged, and the service's peak RSS must stay under 1 GiB.");
  lines.push("");
  lines.push("| group | inputs | handled | not handled |");
  lines.push("| --- | --- | --- | --- |");
  for (const [g, v] of groups) lines.push(`| ${g} | ${v.n} | ${v.ok} | ${cell(v.bad.join("; "), 400)} |`);
  lines.push("");
  lines.push("## Defect classes");
  lines.push("");
  lines.push("Each class of defect an outside probe once found, tried again through the CLI with the bucket altered behind the service's back " +
    "(every probe removes what it damaged): a deleted key through `o3ml gc` with and without grace; a blob one service's gc removed, put again through a second service " +
    "that remembered it; `o3ml verify` after the service had read every object, against a flipped byte, a truncated blob, a deleted blob and a garbage manifest; " +
    "`o3ml ls` through a service that never read the damaged manifests; listen addresses that only look like loopback; contract fields; oversized metadata.");
  lines.push("");
  lines.push("| class | case | handled | detail |");
  lines.push("| --- | --- | --- | --- |");
  for (const x of r.probes ?? []) lines.push(`| ${x.group} | ${cell(x.name, 200)} | ${yes(x.handled)} | ${cell(x.detail, 200)} |`);
  lines.push("");
  lines.push("## Load");
  lines.push("");
  const l = r.load;
  lines.push(`${l.clients} concurrent clients, each on its own gRPC channel, for ${l.seconds} s against one service: ${l.operations.put} puts (16 KiB–1 MiB), ` +
    `${l.operations.get} gets (sha2-256 checked), ${l.operations.shard} dataset shard streams (re-hashed to their CID), ${l.operations.list} lists; ` +
    `${(l.bytesMoved / 1048576).toFixed(0)} MiB moved, ${l.errors} errors. Latency p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms. ` +
    `Service peak RSS (VmHWM of a fresh service process) ${l.servicePeakRssMiB} MiB.`);
  if (l.errorSamples.length) lines.push(`\nErrors seen: ${l.errorSamples.join("; ")}`);
  lines.push("");
  const g = r.sharedBucketGc;
  if (g) {
    lines.push("## gc with several writers on one bucket");
    lines.push("");
    lines.push("Two `o3ml serve` processes (each its own index) saving checkpoints of their own runs for 60 s on one versioned bucket (the O3-profile layer over MinIO), " +
      "deleting older ones and, as each collection started its fence, saving again bytes only deleted ones held, while two more ran `gc --grace 3` in a loop at the same time, then one of them once more: " +
      `${g.saves} saves (${g.revivals} of them reviving garbage; ${g.abortedByGc} attempts refused because a collection was deleting a blob they reused, then made again), ${g.deletes} deletions, ` +
      `${g.collections} collections reporting ${g.blobsCollected} blobs and ${g.manifestsCollected} manifests deleted (a key both deleted counts twice); of ${g.kept} checkpoints committed and kept, ` +
      `${g.lost.length === 0 ? "every one loaded byte for byte and verified" : `${g.lost.length} did not: ${g.lost.slice(0, 5).join("; ")}`}.`);
    lines.push("");
  }
  lines.push("## Secrets");
  lines.push("");
  lines.push(`The run used a random S3 secret key and a random bearer token. ${r.secrets.files} log files (${(r.secrets.bytes / 1048576).toFixed(1)} MiB: service at debug level, CLI, trainers) ` +
    `and ${r.secrets.texts} collected error texts were searched for both, raw and base64: ${r.secrets.leaks.length === 0 ? "none found" : r.secrets.leaks.join("; ")}.`);
  lines.push("");
  lines.push("## Phases");
  lines.push("");
  lines.push(Object.entries(r.phaseSeconds).map(([k, v]) => `${k} ${v} s`).join(", ") + ".");
  lines.push("");
  return lines.join("\n");
}
