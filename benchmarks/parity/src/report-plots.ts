/**
 * SVG plots drawn straight from the report's numbers (no plotting library):
 * horizontal bar charts, one bar per figure (its median) with a whisker over
 * the interquartile range of its repeats, so they render anywhere Markdown
 * does and diff as text.
 */
import type { Measurement, Report } from "./results.js";

interface Bar {
  label: string;
  value: number;
  group: string;
  /** Interquartile range of the repeats, drawn as a whisker. */
  lo?: number;
  hi?: number;
}

const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#57606a"];
const x = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A horizontal bar chart; `log` draws a log2 axis centred on `reference` (ratios around 1×). */
export function barChart(title: string, unit: string, bars: Bar[], opts: { log?: boolean; reference?: number } = {}): string {
  const rowH = 16;
  const left = 520;
  const width = 1150;
  const plotW = width - left - 90;
  const top = 40;
  const groups = [...new Set(bars.map((b) => b.group))];
  const height = top + bars.length * rowH + 30 + groups.length * 14;
  const values = bars.flatMap((b) => [b.value, b.hi ?? b.value]).filter((v) => v > 0 && Number.isFinite(v));
  let pos: (v: number) => number;
  if (opts.log) {
    const lim = Math.max(1, ...values.map((v) => Math.abs(Math.log2(v))));
    pos = (v) => left + ((Math.log2(Math.max(v, 1e-9)) + lim) / (2 * lim)) * plotW;
  } else {
    const max = Math.max(...values, 1e-9);
    pos = (v) => left + (v / max) * plotW;
  }
  const origin = opts.log ? pos(opts.reference ?? 1) : left;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${x(title)}</text>`,
    `<text x="${width - 10}" y="20" text-anchor="end" fill="#57606a">${x(unit)}</text>`,
  ];
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const end = Number.isFinite(b.value) && b.value > 0 ? pos(b.value) : origin;
    const color = COLORS[groups.indexOf(b.group) % COLORS.length]!;
    parts.push(
      `<text x="${left - 6}" y="${y + 11}" text-anchor="end">${x(b.label)}</text>`,
      `<rect x="${Math.min(origin, end).toFixed(1)}" y="${y + 2}" width="${Math.abs(end - origin).toFixed(1)}" height="${rowH - 4}" fill="${color}"/>`,
    );
    let labelAt = Math.max(origin, end);
    if (b.lo !== undefined && b.hi !== undefined && b.lo > 0 && b.hi > 0 && b.hi > b.lo) {
      const [a, c] = [pos(b.lo), pos(b.hi)];
      parts.push(`<line x1="${a.toFixed(1)}" y1="${y + 8}" x2="${c.toFixed(1)}" y2="${y + 8}" stroke="#24292f" stroke-width="1.5"/>`);
      labelAt = Math.max(labelAt, c);
    }
    parts.push(`<text x="${(labelAt + 4).toFixed(1)}" y="${y + 11}">${b.value >= 100 ? b.value.toFixed(0) : b.value.toPrecision(3)}${opts.log ? "×" : ""}</text>`);
  });
  const bottom = top + bars.length * rowH;
  parts.push(`<line x1="${origin.toFixed(1)}" y1="${top - 4}" x2="${origin.toFixed(1)}" y2="${bottom + 2}" stroke="#24292f"/>`);
  if (opts.log) parts.push(`<text x="${origin.toFixed(1)}" y="${bottom + 14}" text-anchor="middle" fill="#57606a">1× (parity); right of it o3ml is better</text>`);
  groups.forEach((g, i) => {
    const y = bottom + 28 + i * 14;
    parts.push(`<rect x="${left}" y="${y - 9}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`, `<text x="${left + 14}" y="${y}">${x(g)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

const byMetric = (ms: Measurement[], test: (m: Measurement) => boolean): Bar[] =>
  ms
    .filter(test)
    .sort((a, b) => a.metric.localeCompare(b.metric, "en", { numeric: true }) || a.who.localeCompare(b.who))
    .map((m) => ({ label: `${m.metric} · ${m.who}`, value: m.median, group: m.who, lo: m.q1, hi: m.q3 }));

/** Plot name → SVG text; a plot with no data is left out. */
export function renderPlots(r: Report): Record<string, string> {
  const ms = r.measurements.filter((m) => m.primary);
  const plots: Record<string, string> = {};
  const ratios = r.comparisons.filter((c) => c.primary);
  if (ratios.length) {
    plots.ratios = barChart(
      "o3ml vs each peer, every cell once (throughput or time; log scale)",
      "ratio of medians, > 1: o3ml better",
      ratios.map((c) => ({ label: `${c.metric}`, value: c.ratio, group: `vs ${c.peer}` })),
      { log: true, reference: 1 },
    );
  }
  const tput = byMetric(ms, (m) => m.workflow.startsWith("objects"));
  if (tput.length) plots.objects = barChart("Object throughput by size, concurrency and target (median, IQR whisker)", "MiB/s", tput);
  const ckpt = byMetric(ms, (m) => m.workflow.startsWith("checkpoint") || m.workflow.startsWith("async save"));
  if (ckpt.length) plots.checkpoints = barChart("Checkpoint save, restore, re-save unchanged and async save (median, IQR whisker)", "seconds (lower is better)", ckpt);
  const epoch = byMetric(ms, (m) => m.workflow.startsWith("dataset epoch"));
  if (epoch.length) plots.epoch = barChart("One dataset epoch, cold and warm (median, IQR whisker)", "samples/s", epoch);
  return plots;
}
