import type { WireDatasetManifest, WireVersionInfo } from "@o3ml/client";
import type { SampleSource } from "./sample.js";
import type { ShardUploader } from "./shard-uploader.js";

export interface PushSummary {
  name: string;
  version: string;
  cid: string;
  parentCid: string;
  sourceKind: string;
  samples: number;
  splits: Record<string, number>;
  classes: string[];
  columns: string[];
  shards: number;
  /** Whether samples were spread over shards by a keyed hash of their keys, and its seed (also of --split). */
  shuffled: boolean;
  seed: number;
  shardsReused: number;
  shardsNew: number;
  /** New shards the store already held (identical bytes pushed before): not sent again. */
  shardsAlreadyStored: number;
  bytesTotal: number;
  bytesUploaded: number;
  imageSizes: Record<string, number>;
  warnings: string[];
  seconds: number;
  /** bytesUploaded over the whole push time. */
  mibPerSecond: number;
}

export function summarize(r: {
  info: WireVersionInfo;
  source: SampleSource;
  splits: Record<string, number>;
  shards: WireDatasetManifest["shards"];
  reused: number;
  built: number;
  uploader: ShardUploader;
  shuffled: boolean;
  seed: number;
  /** Warnings of the push itself (a split in one shard), shown after those about the input. */
  warnings: string[];
  seconds: number;
}): PushSummary {
  const notes = r.source.notes();
  const warnings: string[] = [];
  const sizes = Object.entries(notes.imageSizes).sort((a, b) => b[1] - a[1]);
  if (sizes.length > 1) {
    const shown = sizes.slice(0, 5).map(([d, n]) => `${d} (${n})`).join(", ");
    warnings.push(`images come in ${sizes.length} sizes: ${shown}${sizes.length > 5 ? ", …" : ""}; they are stored as they are, so resize them in your transform`);
  }
  if (notes.skipped.length) warnings.push(`left out ${notes.skipped.length} hidden file(s) or folder(s), e.g. ${notes.skipped[0]}`);
  warnings.push(...r.warnings);
  const bytesTotal = r.shards.reduce((n, s) => n + Number(s.size), 0);
  return {
    name: r.info.name,
    version: r.info.version,
    cid: r.info.cid,
    parentCid: r.info.parentCid,
    sourceKind: r.source.kind,
    samples: Number(r.info.samples),
    splits: r.splits,
    classes: r.source.schema.classes,
    columns: r.source.schema.columns,
    shards: r.shards.length,
    shuffled: r.shuffled,
    seed: r.seed,
    shardsReused: r.reused,
    shardsNew: r.built,
    shardsAlreadyStored: r.uploader.shardsAlreadyStored,
    bytesTotal,
    bytesUploaded: r.uploader.bytesUploaded,
    imageSizes: notes.imageSizes,
    warnings,
    seconds: Number(r.seconds.toFixed(3)),
    mibPerSecond: Number((r.uploader.bytesUploaded / 1048576 / Math.max(r.seconds, 1e-3)).toFixed(1)),
  };
}
