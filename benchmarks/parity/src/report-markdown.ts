/**
 * latest.md / full.md: how busy the host was, which peer ran where (red
 * where one did not, with the reason), the summary per peer and workflow,
 * the parity matrix, every cell's median and IQR beside each peer, the ratio
 * tables per peer, and every failure in full.
 */
import type { ParityCell } from "./parity-matrix.js";
import type { Comparison, Measurement, Report } from "./results.js";
import { OVERALL, type CoverageCell } from "./summary.js";

export { geomean } from "./summary.js";

const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** "median (q1–q3)": the figure and the spread of its repeats. */
export function withIqr(m: Pick<Measurement, "median" | "q1" | "q3" | "repeats">): string {
  return m.repeats > 1 ? `${fmt(m.median)} (${fmt(m.q1)}–${fmt(m.q3)})` : fmt(m.median);
}

/** A ratio, marked ≈ when the two sides' IQRs overlap (the repeats cannot tell them apart). */
export function ratioText(c: Pick<Comparison, "ratio" | "distinct">): string {
  // Two significant digits below 0.1, so a 250-fold gap does not read as 0.00×.
  return `${c.distinct ? "" : "≈"}${c.ratio < 0.1 ? c.ratio.toPrecision(2) : c.ratio.toFixed(2)}×`;
}

function cell(c: ParityCell): string {
  const mark = c.status === "pass" ? "pass" : c.status === "fallback" ? "**fallback**" : c.expected ? "fail (expected)" : "**FAIL**";
  return `${mark} · ${c.ms < 1000 ? `${c.ms.toFixed(0)} ms` : `${(c.ms / 1000).toFixed(1)} s`}${c.notes ? ` · ${esc(c.notes)}` : ""}`;
}

function ratioTable(r: Report, rows: Comparison[]): string {
  const iqrOf = (c: Comparison, who: string) => {
    const m = r.measurements.find((x) => x.metric === c.metric && x.who === who);
    return m && m.repeats > 1 ? `${fmt(m.q1)}–${fmt(m.q3)}` : "–";
  };
  const lines = ["| metric | unit | o3ml | peer | ratio | o3ml IQR | peer IQR |", "|---|---|---:|---:|---:|---:|---:|"];
  for (const c of rows) lines.push(`| ${esc(c.metric)} | ${c.unit} | ${fmt(c.o3ml)} | ${fmt(c.peerValue)} | ${ratioText(c)} | ${iqrOf(c, "o3ml")} | ${iqrOf(c, c.peer)} |`);
  return lines.join("\n");
}

function coverageMark(c: CoverageCell, ref: string): string {
  const text = { measured: `✅ ${c.cells}`, partial: `🟧 ${c.cells}, some failed`, failed: "🟥 **failed**", "not offered": "– n/a", missing: "🟥 **missing**" }[c.status];
  return ref ? `${text} ${ref}` : text;
}

function loadLines(r: Report): string[] {
  const l = r.host.load;
  const out: string[] = [];
  if (l.warning) out.push(`> ⚠️ **${esc(l.warning)}**`, "");
  const other = l.otherCores === undefined ? "" : `; other processes kept ${l.otherCores.toFixed(2)} of ${l.cpus} cores busy on average${l.ownCores === undefined ? "" : `, this run ${l.ownCores.toFixed(2)}`}`;
  out.push(`Host load: ${l.loadBefore.map((x) => x.toFixed(1)).join("/")} before, ${l.loadAfter.map((x) => x.toFixed(1)).join("/")} after (1/5/15 min)${other}.`, "");
  return out;
}

/** The run line, the busy-host warning, the method and the endpoints. */
export function headerSection(r: Report): string[] {
  const out = [`${r.at} · \`${r.command}\` · ${r.seconds.toFixed(0)} s · ${r.host.cpus} CPUs, load ${r.host.loadavg.map((x) => x.toFixed(1)).join("/")} · Node ${r.host.node}`, ""];
  out.push(...loadLines(r));
  out.push(`Method: ${r.method.warmup} warm-up round and ${r.method.repeats} measured rounds per cell, order ${r.method.order}; ${r.method.targets}. Figures: ${r.method.statistic}, written "median (q1–q3)". A ratio marked ≈ is within the spread of the repeats.`, "");
  out.push(`Targets: ${Object.entries(r.targets).map(([k, v]) => `\`${k}\` = ${v} (${r.endpoints[k]?.kind ?? "?"})`).join("; ")}.`);
  return out;
}

/** Failures get numbers (F1, F2, …) so that the coverage table can point at the whole reason. */
function failureRefs(r: Report): (target: string, workflow: string, peer: string) => string {
  const failures = r.unavailable.filter((u) => u.kind === "failed");
  return (target, workflow, peer) => {
    const ids = failures.flatMap((u, i) => (u.target === target && u.workflow === workflow && u.peer === peer ? [`F${i + 1}`] : []));
    return ids.length ? `(${ids.join(", ")})` : "";
  };
}

export function coverageSection(r: Report, heading = "##"): string[] {
  const refOf = failureRefs(r);
  const out = [`${heading} Peer coverage`, "", "Every workflow on every target, for every side expected there: ✅ measured (primary cells), 🟥 failed or missing (reason below), – the peer has no such path.", ""];
  for (const target of [...new Set(r.coverage.map((c) => c.target))]) {
    const rows = r.coverage.filter((c) => c.target === target);
    const peers = [...new Set(rows.flatMap((c) => Object.keys(c.peers)))];
    out.push(`**${target}** (${r.endpoints[target]?.kind ?? (target.includes("WAN") ? "local O3 profile via WAN relay" : "?")})`, "");
    out.push(`| workflow | ${peers.map(esc).join(" | ")} |`, `|---|${peers.map(() => "---").join("|")}|`);
    for (const row of rows) out.push(`| ${esc(row.workflow)} | ${peers.map((p) => (row.peers[p] ? coverageMark(row.peers[p], refOf(target, row.workflow, p)) : "")).join(" | ")} |`);
    out.push("");
  }
  return out;
}

export function summarySection(r: Report, heading = "##"): string[] {
  const out = [`${heading} o3ml against each peer`, "", "Geometric mean of o3ml's ratios (> 1: o3ml better), each cell counted once by its primary figure (throughput or time), with the number of cells (and of cells the peer failed, which the mean cannot include).", ""];
  const workflows = [...new Set(r.summary.filter((s) => s.workflow !== OVERALL).map((s) => s.workflow))];
  out.push(`| peer | ${workflows.map(esc).join(" | ")} | overall |`, `|---|${workflows.map(() => "---:").join("|")}|---:|`);
  for (const peer of [...new Set(r.summary.map((s) => s.peer))]) {
    const show = (w: string) => {
      const s = r.summary.find((x) => x.peer === peer && x.workflow === w);
      if (!s) return "–";
      return `${s.cells ? ratioText({ ratio: s.geomean, distinct: true }) : "–"} (${s.cells}${s.failed ? `; 🟥 ${s.failed} failed` : ""})`;
    };
    out.push(`| ${esc(peer)} | ${workflows.map(show).join(" | ")} | **${show(OVERALL)}** |`);
  }
  return out;
}

export function paritySection(r: Report, heading = "##"): string[] {
  const bad = r.parity.filter((p) => p.s3.status !== "pass" || p.o3.status !== "pass").length;
  const out = [`${heading} Functional parity`, "", `${r.parity.length} rows; ${r.parity.length - bad} pass on both targets${bad ? `, ${bad} do not (the cell says why)` : ""}.`, ""];
  out.push("| workflow | layer | s3 | o3 | checks |", "|---|---|---|---|---|");
  for (const p of r.parity) out.push(`| ${esc(p.workflow)} | ${p.layer} | ${cell(p.s3)} | ${cell(p.o3)} | ${esc(p.notes)} |`);
  return out;
}

/** The primary figure of every cell, median (q1–q3), beside o3ml's ratio against each peer. */
export function workflowSections(r: Report, heading = "###"): string[] {
  const out: string[] = [];
  for (const workflow of [...new Set(r.measurements.map((m) => m.workflow))]) {
    const ms = r.measurements.filter((m) => m.workflow === workflow && m.primary);
    const sides = ["o3ml", ...new Set(ms.map((m) => m.who).filter((w) => w !== "o3ml"))];
    out.push("", `${heading} ${workflow}`, "", `| cell | unit | ${sides.map(esc).join(" | ")} |`, `|---|---|${sides.map(() => "---:").join("|")}|`);
    for (const metric of [...new Set(ms.map((m) => m.metric))]) {
      const row = sides.map((who) => {
        const m = ms.find((x) => x.metric === metric && x.who === who);
        if (!m) return "";
        const c = r.comparisons.find((x) => x.metric === metric && x.peer === who);
        return `${withIqr(m)}${c ? ` · ${ratioText(c)}` : ""}`;
      });
      out.push(`| ${esc(metric)} | ${ms.find((m) => m.metric === metric)!.unit} | ${row.join(" | ")} |`);
    }
    const formats = [...new Set(ms.filter((m) => m.note).map((m) => `${m.who}: ${m.note}`))];
    if (formats.length) out.push("", ...formats.map((f) => `- ${esc(f)}`));
  }
  return out;
}

export function failuresSection(r: Report, heading = "##"): string[] {
  if (!r.unavailable.length) return [];
  const failures = r.unavailable.filter((u) => u.kind === "failed");
  const out = [`${heading} Not measured`, "", "Every failure in full (F-numbers as in the coverage table), then the paths a peer does not have.", ""];
  out.push("| # | target | peer | workflow | what | reason |", "|---|---|---|---|---|---|");
  failures.forEach((u, i) => out.push(`| F${i + 1} | ${u.target} | ${esc(u.peer)} | ${esc(u.workflow)} | ${esc(u.what)} | ${esc(u.reason)} |`));
  const absent = [...new Map(r.unavailable.filter((u) => u.kind === "not offered").map((u) => [`${u.peer} ${u.workflow}`, u])).values()];
  for (const u of absent) out.push(`| – | all | ${esc(u.peer)} | ${esc(u.workflow)} | not offered | ${esc(u.reason)} |`);
  return out;
}

export function renderMarkdown(r: Report, plots: string[]): string {
  const out: string[] = [`# o3ml parity benchmark (${r.mode})`, "", ...headerSection(r), ""];
  for (const n of r.notes) out.push(`- ${n}`);
  out.push("", ...coverageSection(r), ...summarySection(r), "", ...paritySection(r));
  out.push("", "## Figures by workflow", "", "Primary figure of every cell, median (q1–q3) of the repeats, and o3ml's ratio against each peer.", ...workflowSections(r));
  out.push("", "## o3ml against each peer, every figure", "", "Same endpoint, same data, same run; ratio > 1 means o3ml is better (higher throughput, or lower latency/time).");
  for (const peer of [...new Set(r.comparisons.map((c) => c.peer))]) out.push("", `### vs ${peer}`, "", ratioTable(r, r.comparisons.filter((c) => c.peer === peer)));
  const failed = failuresSection(r);
  if (failed.length) out.push("", ...failed);
  if (plots.length) out.push("", "## Plots", "", ...plots.map((p) => `![${p}](${p})`));
  return out.join("\n") + "\n";
}
