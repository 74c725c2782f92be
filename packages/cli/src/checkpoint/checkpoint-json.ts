import type { WireCheckpointInfo } from "@o3ml/storage-service";
import { formatBytes } from "../output.js";

/** What `--json` prints for a checkpoint. */
export interface CheckpointJson {
  id: string;
  key: string;
  run: string;
  step: number;
  epoch: number;
  manifestCid: string;
  parentId: string | null;
  datasetCid: string | null;
  state: string;
  bytesTotal: number;
  bytesUploaded: number;
  bytesDeduplicated: number;
  metrics: Record<string, number>;
  entries: number;
  created: string;
}

/** A checkpoint's id is its manifest CID; both are printed, under the names scripts look for. */
export function checkpointJson(i: WireCheckpointInfo): CheckpointJson {
  const created = Number(i.createdUnixMs ?? 0);
  return {
    id: i.cid ?? "",
    key: i.key ?? "",
    run: i.run ?? "",
    step: Number(i.step ?? 0),
    epoch: Number(i.epoch ?? 0),
    manifestCid: i.cid ?? "",
    parentId: i.parentCid || null,
    datasetCid: i.datasetCid || null,
    state: i.state ?? "",
    bytesTotal: Number(i.bytesTotal ?? 0),
    bytesUploaded: Number(i.bytesUploaded ?? 0),
    bytesDeduplicated: Number(i.bytesDeduplicated ?? 0),
    metrics: { ...(i.metrics ?? {}) },
    entries: i.entryCount ?? 0,
    created: created ? new Date(created).toISOString() : "",
  };
}

export function renderList(all: CheckpointJson[]): string {
  if (all.length === 0) return "(no checkpoints)";
  const rows = all.map((c) => [c.created.slice(0, 19), c.state, c.run, String(c.step), formatBytes(c.bytesTotal), formatBytes(c.bytesUploaded), c.key, c.id]);
  const head = ["created", "state", "run", "step", "size", "uploaded", "key", "id"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join("  ")).join("\n");
}

export function renderShow(c: CheckpointJson): string {
  const dedup = c.bytesTotal ? ` (${((100 * c.bytesDeduplicated) / c.bytesTotal).toFixed(1)}% deduplicated)` : "";
  const lines: [string, string][] = [
    ["id", c.id],
    ["key", c.key],
    ["run", c.run],
    ["step", `${c.step} (epoch ${c.epoch})`],
    ["state", c.state],
    ["size", `${formatBytes(c.bytesTotal)} in ${c.entries} entries`],
    ["uploaded", `${formatBytes(c.bytesUploaded)}${dedup}`],
    ["parent", c.parentId ?? "-"],
    ["dataset", c.datasetCid ?? "-"],
    ["created", c.created],
    ...Object.entries(c.metrics).map(([k, v]): [string, string] => [`metric ${k}`, String(v)]),
  ];
  return lines.map(([k, v]) => `${k.padEnd(12)} ${v}`).join("\n");
}
