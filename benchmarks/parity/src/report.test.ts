import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { barChart } from "./report-plots.js";
import { geomean, renderMarkdown } from "./report-markdown.js";
import { compare, type Report } from "./results.js";
import { planFromArgs } from "./run-plan.js";
import { remoteTargetConfigs } from "./targets.js";

const cell = (status: "pass" | "fail" | "fallback", notes = "", expected = false) => ({ status, ms: 12, notes, ...(expected ? { expected } : {}) });

describe("compare", () => {
  it("pairs o3ml with each peer and orients the ratio so that > 1 means o3ml is better", () => {
    const out = compare([
      { who: "o3ml", metric: "put", unit: "MiB/s", higherIsBetter: true, value: 50 },
      { who: "sdk", metric: "put", unit: "MiB/s", higherIsBetter: true, value: 100 },
      { who: "o3ml", metric: "put p99", unit: "ms", higherIsBetter: false, value: 10 },
      { who: "sdk", metric: "put p99", unit: "ms", higherIsBetter: false, value: 40 },
      { who: "sdk", metric: "only the peer has this", unit: "ms", higherIsBetter: false, value: 1 },
    ]);
    expect(out).toEqual([
      { metric: "put", unit: "MiB/s", higherIsBetter: true, o3ml: 50, peer: "sdk", peerValue: 100, ratio: 0.5 },
      { metric: "put p99", unit: "ms", higherIsBetter: false, o3ml: 10, peer: "sdk", peerValue: 40, ratio: 4 },
    ]);
  });

  it("leaves out figures that are zero or missing rather than dividing by them", () => {
    expect(compare([
      { who: "o3ml", metric: "m", unit: "s", higherIsBetter: false, value: 0 },
      { who: "p", metric: "m", unit: "s", higherIsBetter: false, value: 3 },
    ])).toEqual([]);
  });
});

describe("renderMarkdown", () => {
  const report: Report = {
    schema: 1,
    at: "2026-11-28T00:00:00.000Z",
    mode: "quick",
    command: "npm run bench -- --quick",
    seconds: 1,
    host: { cpus: 2, loadavg: [1, 1, 1], node: "v20", platform: "linux-x64" },
    targets: { s3: "MinIO", o3: "O3 profile" },
    wan: { method: "tcp-relay", netem: "no", latencyMs: 20, bandwidthMiBps: 100 },
    notes: [],
    parity: [
      { workflow: "object put", layer: "o3ml", s3: cell("pass"), o3: cell("pass"), notes: "" },
      { workflow: "raw checksums", layer: "raw S3", s3: cell("pass"), o3: cell("fail", "refused | as O3 does", true), notes: "" },
    ],
    comparisons: [{ metric: "put", unit: "MiB/s", higherIsBetter: true, o3ml: 1, peer: "sdk", peerValue: 2, ratio: 0.5 }],
    measurements: [],
    unavailable: [{ target: "o3", peer: "litdata", what: "start", reason: "not installed" }],
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
    expect(md).toContain("| o3 | litdata | start | not installed |");
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
    expect(planFromArgs(["--quick"]).python.peers).toEqual(["o3ml", "boto3"]);
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
