import type { WireCheckpointInfo } from "@o3ml/client";
import { formatBytes, renderTable } from "../output.js";

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

/** The listing: names first (the run's name, where `runName` knows it, and the key), ids last. */
export function renderList(all: CheckpointJson[], runName: (run: string) => string): string {
  if (all.length === 0) return "(no checkpoints)";
  const rows = all.map((c) => [runName(c.run), String(c.step), c.state, c.created.slice(0, 19), formatBytes(c.bytesTotal), formatBytes(c.bytesUploaded), c.key, c.id]);
  return renderTable(["run", "step", "state", "created", "size", "uploaded", "key", "id"], rows);
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
