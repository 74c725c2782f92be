import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BEGIN, END, renderDocSection, updateDocSection } from "./doc-section.js";
import { inRoundOrder, opsPerRound } from "./object-bench.js";
import { barChart } from "./report-plots.js";
import { geomean, renderMarkdown } from "./report-markdown.js";
import { compare, measurement, type Comparison, type Measurement, type MeasurementBase, type Report, type Unavailable } from "./results.js";
import { MIN_COMMITTED_REPEATS, planFromArgs, RESULTS_DIR, SCRATCH_DIR } from "./run-plan.js";
import { distinct, percentile, spread } from "./stats.js";
import { coverage, redCells, summarize } from "./summary.js";
import { remoteTargetConfigs } from "./targets.js";
import { ASYNC_SAVE, CKPT_RESAVE, CKPT_RESTORE, CKPT_SAVE, EPOCH_COLD, EPOCH_WARM, expectedCoverage, PY_OBJECTS } from "./workflows.js";

const cell = (status: "pass" | "fail" | "fallback", notes = "", expected = false) => ({ status, ms: 12, notes, ...(expected ? { expected } : {}) });

/** A measurement of `who` with these repeats (the median becomes its value). */
const m = (who: string, metric: string, unit: string, higherIsBetter: boolean, values: number[], extra: Partial<MeasurementBase> = {}): Measurement =>
  measurement({ who, metric, unit, higherIsBetter, workflow: "objects (TypeScript)", target: "s3", endpoint: "local MinIO", primary: unit !== "ms", ...extra }, values);

describe("compare", () => {
  it("pairs o3ml with each peer and orients the ratio so that > 1 means o3ml is better", () => {
    const out = compare([
      m("o3ml", "put", "MiB/s", true, [50]),
      m("sdk", "put", "MiB/s", true, [100]),
      m("o3ml", "put p99", "ms", false, [10]),
      m("sdk", "put p99", "ms", false, [40]),
      m("sdk", "only the peer has this", "ms", false, [1]),
    ]);
    const where = { workflow: "objects (TypeScript)", target: "s3", endpoint: "local MinIO" };
    expect(out).toEqual([
      { metric: "put", unit: "MiB/s", higherIsBetter: true, o3ml: 50, peer: "sdk", peerValue: 100, ratio: 0.5, ...where, primary: true, distinct: true },
      { metric: "put p99", unit: "ms", higherIsBetter: false, o3ml: 10, peer: "sdk", peerValue: 40, ratio: 4, ...where, primary: false, distinct: true },
    ]);
  });

  it("leaves out figures that are zero or missing rather than dividing by them", () => {
    expect(compare([m("o3ml", "m", "s", false, [0]), m("p", "m", "s", false, [3])])).toEqual([]);
  });
});

describe("renderMarkdown", () => {
  const measurements = [m("o3ml", "put", "MiB/s", true, [1, 1, 1]), m("sdk", "put", "MiB/s", true, [1.8, 2, 2.2])];
  const comparisons: Comparison[] = [{ metric: "put", unit: "MiB/s", higherIsBetter: true, o3ml: 1, peer: "sdk", peerValue: 2, ratio: 0.5, workflow: "objects (TypeScript)", target: "s3", endpoint: "local MinIO", primary: true, distinct: true }];
  const unavailable: Unavailable[] = [
    { target: "o3", peer: "litdata", workflow: EPOCH_COLD, what: "start", reason: "ModuleNotFoundError: not installed | caused by: the whole chain", kind: "failed" },
    { target: "o3", peer: "litdata", workflow: CKPT_SAVE, what: CKPT_SAVE, reason: "litdata has no checkpoint path", kind: "not offered" },
  ];
  const expected = { s3: [{ workflow: "objects (TypeScript)", peers: ["o3ml", "sdk"] }], o3: [{ workflow: EPOCH_COLD, peers: ["o3ml", "litdata"] }, { workflow: CKPT_SAVE, peers: ["litdata"] }] };
  const report: Report = {
    schema: 2,
    at: "2026-11-28T00:00:00.000Z",
    mode: "quick",
    command: "npm run bench -- --quick",
    seconds: 1,
    host: { cpus: 2, loadavg: [1, 1, 1], node: "v20", platform: "linux-x64", load: { cpus: 2, loadBefore: [3, 2, 1], loadAfter: [2, 2, 1], otherCores: 0.9, busy: true, warning: "THE HOST WAS BUSY: the load average was 3.0 on 2 cores when the run started." } },
    method: { warmup: 1, repeats: 3, order: "alternating", targets: "one at a time", statistic: "median and IQR" },
    targets: { s3: "MinIO", o3: "O3 profile" },
    endpoints: { s3: { kind: "local MinIO", url: "127.0.0.1" }, o3: { kind: "local O3 profile over MinIO", url: "127.0.0.1" } },
    wan: { method: "tcp-relay", netem: "no", latencyMs: 20, bandwidthMiBps: 100 },
    notes: [],
    parity: [
      { workflow: "object put", layer: "o3ml", s3: cell("pass"), o3: cell("pass"), notes: "" },
      { workflow: "raw checksums", layer: "raw S3", s3: cell("pass"), o3: cell("fail", "refused | as O3 does", true), notes: "" },
    ],
    comparisons,
    measurements,
    unavailable,
    summary: summarize(comparisons, unavailable),
    coverage: coverage(expected, measurements, unavailable),
  };
  const md = renderMarkdown(report, ["latest-ratios.svg"]);

  it("shows every parity row, marks expected failures and escapes table pipes", () => {
    expect(md).toContain("| object put | o3ml | pass · 12 ms | pass · 12 ms |");
    expect(md).toContain("fail (expected) · 12 ms · refused \\| as O3 does");
    expect(md).toContain("2 rows; 1 pass on both targets, 1 do not");
  });

  it("has a ratio table per peer and says what was not measured", () => {
    expect(md).toContain("### vs sdk");
    expect(md).toContain("| put | MiB/s | 1.00 | 2.00 | 0.50× |");
    expect(md).toContain("| F1 | o3 | litdata | dataset epoch, cold | start | ModuleNotFoundError: not installed \\| caused by: the whole chain |");
    expect(md).toContain("| – | all | litdata | checkpoint save | not offered | litdata has no checkpoint path |");
  });

  it("fills docs/performance.md between its markers and nowhere else", () => {
    const page = readFileSync(fileURLToPath(new URL("../../../docs/performance.md", import.meta.url)), "utf8");
    expect(page.indexOf(BEGIN)).toBeGreaterThan(0);
    expect(page.indexOf(END)).toBeGreaterThan(page.indexOf(BEGIN));
    const file = join(mkdtempSync(join(tmpdir(), "o3ml-doc-")), "page.md");
    writeFileSync(file, `before\n${BEGIN}\nold\n${END}\nafter\n`);
    expect(updateDocSection(file, renderDocSection(report, ["full-ratios.svg"], "../benchmarks/results"))).toBe(true);
    const out = readFileSync(file, "utf8");
    expect(out.startsWith(`before\n${BEGIN}\n`)).toBe(true);
    expect(out.endsWith(`${END}\nafter\n`)).toBe(true);
    expect(out).not.toContain("\nold\n");
    expect(out).toContain("### Peer coverage");
    expect(out).toContain("![full-ratios.svg](../benchmarks/results/full-ratios.svg)");
    writeFileSync(file, "no markers\n");
    expect(updateDocSection(file, "x")).toBe(false);
  });

  it("warns loudly when the host was busy and gives the load before and after", () => {
    expect(md).toContain("> ⚠️ **THE HOST WAS BUSY");
    expect(md).toContain("Host load: 3.0/2.0/1.0 before, 2.0/2.0/1.0 after (1/5/15 min); other processes kept 0.90 of 2 cores busy");
  });

  it("shows a red row for a peer that failed, a dash for a path it does not have, and medians with their IQR", () => {
    expect(md).toContain("| dataset epoch, cold | 🟥 **missing** | 🟥 **failed** (F1) |");
    expect(md).toContain("| checkpoint save |  | – n/a |");
    expect(md).toContain("| objects (TypeScript) | ✅ 1 | ✅ 1 |");
    expect(md).toContain("| put | MiB/s | 1.00 (1.00–1.00) | 2.00 (1.90–2.10) · 0.50× |");
    expect(md).toContain("| sdk | 0.50× (1) | – | **0.50× (1)** |");
    // A peer that failed everywhere still has its row in the summary.
    expect(md).toContain("| litdata | – | – (0; 🟥 1 failed) | **– (0; 🟥 1 failed)** |");
  });
});

describe("repeats: median and IQR", () => {
  it("interpolates between the closest ranks, as tinybench and Python's statistics.quantiles(method='inclusive') do", () => {
    expect(percentile([1, 2, 3, 4, 5], 25)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10, 20], 75)).toBe(17.5);
    expect(spread([5, 1, 4, 2, 3])).toEqual({ repeats: 5, median: 3, q1: 2, q3: 4, iqr: 2, values: [5, 1, 4, 2, 3] });
  });

  it("tells two sides apart only when their IQRs do not overlap", () => {
    expect(distinct(spread([1, 2, 3]), spread([4, 5, 6]))).toBe(true);
    expect(distinct(spread([1, 5, 6]), spread([4, 5, 6]))).toBe(false);
  });

  it("keeps the fields of schema 1 and adds repeats, median and iqr to every measurement", () => {
    const x = m("o3ml", "put", "MiB/s", true, [3, 1, 2]);
    expect(x).toMatchObject({ who: "o3ml", metric: "put", unit: "MiB/s", higherIsBetter: true, value: 2, repeats: 3, median: 2, iqr: 1, values: [3, 1, 2] });
  });

  it("alternates the order of the sides and puts enough operations in flight", () => {
    expect(inRoundOrder(["o3ml", "peer"], 0)).toEqual(["o3ml", "peer"]);
    expect(inRoundOrder(["o3ml", "a", "b"], 1)).toEqual(["b", "a", "o3ml"]);
    expect(opsPerRound(16 << 20, 4, 32 << 20)).toBe(8); // c=4 is really 4 at once, twice over
    expect(opsPerRound(1 << 30, 1, 32 << 20)).toBe(1);
    expect(opsPerRound(1 << 20, 16, 32 << 20)).toBe(32);
  });
});

describe("summary and coverage", () => {
  const base = { target: "s3", endpoint: "local MinIO" as const, distinct: false, unit: "MiB/s", higherIsBetter: true, o3ml: 1, peerValue: 1 };
  const cmp = (peer: string, workflow: string, ratio: number, primary = true): Comparison => ({ ...base, metric: `${workflow} ${ratio}`, peer, workflow, ratio, primary });

  it("counts each cell once (its primary figure), per workflow and overall", () => {
    const rows = summarize([cmp("boto3", "objects", 0.5), cmp("boto3", "objects", 0.1, false), cmp("boto3", "objects", 2), cmp("boto3", "epoch", 4)]);
    expect(rows.find((r) => r.workflow === "objects")).toMatchObject({ peer: "boto3", cells: 2, geomean: 1, wins: 1, failed: 0 });
    expect(rows.find((r) => r.workflow === "overall")!.cells).toBe(3);
    expect(rows.find((r) => r.workflow === "overall")!.geomean).toBeCloseTo(Math.cbrt(4));
  });

  it("says how many cells a peer failed beside the mean over those it passed", () => {
    const un: Unavailable[] = [
      { target: "o3", peer: "s3fs", workflow: "objects", what: "put 16 MiB", reason: "x", kind: "failed" },
      { target: "o3", peer: "s3fs", workflow: "objects", what: "get 16 MiB", reason: "not measured: the put failed", kind: "failed" },
      { target: "o3", peer: "s3fs", workflow: "ckpt", what: "ckpt", reason: "no path", kind: "not offered" },
    ];
    const rows = summarize([cmp("s3fs", "objects", 0.5)], un);
    expect(rows.map((r) => [r.workflow, r.failed])).toEqual([["objects", 2], ["overall", 2]]);
  });

  it("names every expected side of every workflow: measured, failed, not offered or missing", () => {
    const ms = [m("o3ml", "e (s3)", "samples/s", true, [1], { workflow: "epoch" }), m("litdata", "e (s3)", "samples/s", true, [1], { workflow: "epoch" })];
    const un: Unavailable[] = [{ target: "o3", peer: "litdata", workflow: "epoch", what: "dataset epoch", reason: "boom", kind: "failed" }];
    const rows = coverage({ s3: [{ workflow: "epoch", peers: ["o3ml", "litdata"] }], o3: [{ workflow: "epoch", peers: ["o3ml", "litdata"] }] }, ms, un);
    expect(rows[0]!.peers.litdata).toEqual({ status: "measured", cells: 1, reasons: [] });
    expect(rows[1]!.peers.litdata).toEqual({ status: "failed", cells: 0, reasons: ["dataset epoch: boom"] });
    expect(rows[1]!.peers.o3ml!.status).toBe("missing");
    expect(redCells(rows).map((r) => `${r.target} ${r.peer}`)).toEqual(["o3 o3ml", "o3 litdata"]);
  });

  it("expects every Python peer in every Python workflow of the plan, on every target", () => {
    const plan = planFromArgs([]);
    const e = expectedCoverage(["s3", "o3"], plan.python, "o3+WAN");
    expect(e.o3!.map((w) => w.workflow)).toEqual(["objects (TypeScript)", PY_OBJECTS, CKPT_SAVE, CKPT_RESTORE, CKPT_RESAVE, ASYNC_SAVE, EPOCH_COLD, EPOCH_WARM]);
    expect(e.s3!.find((w) => w.workflow === EPOCH_WARM)!.peers).toContain("litdata");
    expect(e["o3+WAN"]!.map((w) => w.workflow)).toEqual(["objects via WAN (TypeScript)"]);
  });

  it("uses the workflow names the Python harness writes", () => {
    const py = (f: string) => readFileSync(fileURLToPath(new URL(`../python/${f}`, import.meta.url)), "utf8");
    expect(py("objects_cells.py")).toContain(`WORKFLOW = "${PY_OBJECTS}"`);
    expect(py("checkpoint_cells.py")).toContain(`SAVE, RESTORE, RESAVE, ASYNC = "${CKPT_SAVE}", "${CKPT_RESTORE}", "${CKPT_RESAVE}", "${ASYNC_SAVE}"`);
    expect(py("epoch_cells.py")).toContain(`COLD, WARM = "${EPOCH_COLD}", "${EPOCH_WARM}"`);
  });
});

describe("barChart", () => {
  it("draws one bar per figure as well-formed SVG", () => {
    const svg = barChart("t <1>", "MiB/s", [
      { label: "a", value: 2, group: "o3ml" },
      { label: "b", value: 0.5, group: "peer" },
    ], { log: true, reference: 1 });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("t &lt;1&gt;");
    expect(svg.match(/<rect /g)?.length).toBe(1 + 2 + 2); // background, bars, legend
  });
});

describe("run plan and targets", () => {
  it("refuses unknown options and caps full sizes", () => {
    expect(() => planFromArgs(["--quik"])).toThrow(/Unknown option --quik/);
    expect(planFromArgs(["--max-size-mib", "64"]).objects.sizes.map((s) => s / 1048576)).toEqual([1, 16, 64]);
    expect(planFromArgs(["--max-size-mib", "64"]).python.checkpoints!.capMiB).toBeNull(); // the 1.13 GiB transformer stays whole
    expect(planFromArgs(["--max-checkpoint-mib", "32"]).python.checkpoints!.capMiB).toBe(32);
    expect(planFromArgs(["--quick"]).python.peers).toEqual(["o3ml", "boto3"]);
    expect(() => planFromArgs(["--repeats", "0"])).toThrow(/--repeats/);
  });

  it("repeats every cell (5 in a full run) and never lets a test or reduced run replace the committed results", () => {
    const full = planFromArgs([]);
    expect(full.repeats).toBe(MIN_COMMITTED_REPEATS);
    expect(full.warmup).toBe(1);
    expect(full.out).toMatchObject({ latestDir: SCRATCH_DIR, committedDir: RESULTS_DIR });
    expect(planFromArgs(["--quick"]).out.committedDir).toBeUndefined();
    expect(planFromArgs(["--quick"]).out.latestDir).toBe(SCRATCH_DIR);
    expect(planFromArgs(["--repeats", "2"]).out.committedDir).toBeUndefined();
    expect(planFromArgs(["--out", "/tmp/x"]).out).toEqual({ latestDir: "/tmp/x", why: "--out names the folder" });
    expect(planFromArgs(["--config", "t.json", "--max-size-mib", "256"]).command).toBe("npm run bench -- --config t.json --max-size-mib 256");
  });

  it("reads a remote target from the environment and insists on its bucket", () => {
    const env = { O3ML_BENCH_O3_ENDPOINT: "https://o3-rc2.akave.xyz", O3ML_BENCH_O3_REGION: "akave-network", O3ML_BENCH_O3_BUCKET: "my-bench" };
    expect(remoteTargetConfigs(undefined, env)).toEqual({ o3: { endpoint: "https://o3-rc2.akave.xyz", region: "akave-network", bucket: "my-bench" } });
    expect(() => remoteTargetConfigs(undefined, { O3ML_BENCH_S3_ENDPOINT: "https://s3.us-east-1.amazonaws.com" })).toThrow(/no bucket/);
  });
});

describe("targets.example.json (docs/performance.md, Real endpoints)", () => {
  it("names both real endpoints as the docs show them, keys by variable name only", () => {
    const file = fileURLToPath(new URL("../targets.example.json", import.meta.url));
    const targets = remoteTargetConfigs(file, {});
    expect(targets.o3).toMatchObject({ endpoint: "https://o3-rc2.akave.xyz", region: "akave-network", profile: "o3", accessKeyIdEnv: "AKAVE_ACCESS_KEY_ID" });
    expect(targets.s3).toMatchObject({ region: "eu-central-1", profile: "s3", accessKeyIdEnv: "AWS_ACCESS_KEY_ID" });
    expect(JSON.stringify(targets)).not.toMatch(/secretAccessKey"/);
    // The environment overrides the file, as the docs say.
    expect(remoteTargetConfigs(file, { O3ML_BENCH_O3_BUCKET: "other" }).o3?.bucket).toBe("other");
  });
});

it("geomean summarises ratios symmetrically", () => {
  expect(geomean([0.5, 2])).toBeCloseTo(1);
});
