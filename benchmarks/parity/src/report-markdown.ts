/**
 * latest.md / full.md: the parity matrix (every row on both targets, with
 * why a cell is not a pass), then one ratio table per peer, then what could
 * not be measured and why.
 */
import type { ParityCell } from "./parity-matrix.js";
import type { Comparison, Report } from "./results.js";

const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

function cell(c: ParityCell): string {
  const mark = c.status === "pass" ? "pass" : c.status === "fallback" ? "**fallback**" : c.expected ? "fail (expected)" : "**FAIL**";
  return `${mark} · ${c.ms < 1000 ? `${c.ms.toFixed(0)} ms` : `${(c.ms / 1000).toFixed(1)} s`}${c.notes ? ` · ${esc(c.notes)}` : ""}`;
}

function ratioTable(rows: Comparison[]): string {
  const lines = ["| metric | unit | o3ml | peer | ratio |", "|---|---|---:|---:|---:|"];
  for (const c of rows) lines.push(`| ${esc(c.metric)} | ${c.unit} | ${fmt(c.o3ml)} | ${fmt(c.peerValue)} | ${c.ratio.toFixed(2)}× |`);
  return lines.join("\n");
}

/** Geometric mean of ratios: the one-number summary per peer (a mean of ratios would overweight wins). */
export function geomean(xs: number[]): number {
  return xs.length ? Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length) : NaN;
}

export function renderMarkdown(r: Report, plots: string[]): string {
  const out: string[] = [];
  out.push(`# o3ml parity benchmark (${r.mode})`, "");
  out.push(`${r.at} · \`${r.command}\` · ${r.seconds.toFixed(0)} s · ${r.host.cpus} CPUs, load ${r.host.loadavg.map((x) => x.toFixed(1)).join("/")} · Node ${r.host.node}`, "");
  out.push(`Targets: ${Object.entries(r.targets).map(([k, v]) => `\`${k}\` = ${v}`).join("; ")}.`, "");
  for (const n of r.notes) out.push(`- ${n}`);
  out.push("", "## Functional parity", "");
  const bad = r.parity.filter((p) => p.s3.status !== "pass" || p.o3.status !== "pass").length;
  out.push(`${r.parity.length} rows; ${r.parity.length - bad} pass on both targets${bad ? `, ${bad} do not (the cell says why)` : ""}.`, "");
  out.push("| workflow | layer | s3 | o3 | checks |", "|---|---|---|---|---|");
  for (const p of r.parity) out.push(`| ${esc(p.workflow)} | ${p.layer} | ${cell(p.s3)} | ${cell(p.o3)} | ${esc(p.notes)} |`);
  out.push("", "## o3ml against each peer", "", "Same endpoint, same data, same run; ratio > 1 means o3ml is better (higher throughput, or lower latency/time).", "");
  const peers = [...new Set(r.comparisons.map((c) => c.peer))];
  out.push("| peer | comparisons | geometric mean of ratios |", "|---|---:|---:|");
  for (const peer of peers) {
    const rs = r.comparisons.filter((c) => c.peer === peer).map((c) => c.ratio);
    out.push(`| ${peer} | ${rs.length} | ${geomean(rs).toFixed(2)}× |`);
  }
  for (const peer of peers) out.push("", `### vs ${peer}`, "", ratioTable(r.comparisons.filter((c) => c.peer === peer)));
  if (r.unavailable.length) {
    out.push("", "## Not measured", "", "| target | peer | what | reason |", "|---|---|---|---|");
    for (const u of r.unavailable) out.push(`| ${u.target} | ${esc(u.peer)} | ${esc(u.what)} | ${esc(u.reason)} |`);
  }
  if (plots.length) out.push("", "## Plots", "", ...plots.map((p) => `![${p}](${p})`));
  return out.join("\n") + "\n";
}
