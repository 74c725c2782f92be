import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { basename } from "node:path";
import { O3mlError } from "@o3ml/errors";
import type { Sample, SampleSource } from "../sample.js";
import { assignSplit, type SplitRatios } from "../split-ratios.js";
import { npyHeader, parseNpyHeader, readLabels, type NpyHeader } from "./npy-format.js";
import { rowKey } from "./sample-keys.js";
import { readZipEntries, readZipEntry, type ZipEntry } from "./zip-reader.js";

/** Array names taken for labels, and for features, when an .npz holds several. */
const LABEL_NAMES = ["y", "label", "labels", "target", "targets", "cls", "class", "classes"];
const FEATURE_NAMES = ["x", "data", "features", "feature", "images", "image", "inputs", "input", "arr_0"];
const HEAD_BYTES = 64 * 1024;

interface ArrayInput {
  name: string;
  header: NpyHeader;
  /** The array file's bytes from its start (header included). */
  open: () => AsyncIterable<Uint8Array>;
}

/**
 * Rows of a numpy array as samples: `.npy` (features only) or `.npz`
 * (features and labels). Each row becomes a sample with an `npy` member (the
 * row as its own .npy array, shape = the array's shape without its first
 * dimension) and, with labels, a `cls` member (the label in decimal).
 */
export async function arraySource(path: string, opts: { ratios?: SplitRatios; seed: number }): Promise<SampleSource> {
  const npz = path.toLowerCase().endsWith(".npz");
  const { features, labels } = npz ? await npzArrays(path) : { features: await npyFile(path), labels: undefined };
  const rows = features.header.shape[0] ?? 0;
  const what = `${basename(path)}${npz ? `:${features.name}` : ""}`;
  if (features.header.shape.length === 0 || rows === 0) {
    throw new O3mlError("INVALID_ARGUMENT", `${what} has no rows (shape (${features.header.shape.join(", ")})); one sample is made per row of the first dimension`, { path });
  }
  let labelValues: number[] | undefined;
  if (labels) {
    labelValues = readLabels(labels.header, await dataOf(labels), `${basename(path)}:${labels.name}`);
    if (labelValues.length !== rows) {
      throw new O3mlError("INVALID_ARGUMENT", `${basename(path)}: ${labels.name} has ${labelValues.length} labels but ${features.name} has ${rows} rows; they must match`, { path });
    }
  }
  const rowShape = features.header.shape.slice(1);
  const rowBytes = rowShape.reduce((n, d) => n * d, 1) * features.header.itemSize;
  const head = npyHeader(features.header.descr, rowShape);
  return {
    kind: npz ? "npz" : "npy",
    schema: { fields: labels ? ["cls", "npy"] : ["npy"], classes: [], columns: labels ? [features.name, labels.name] : [features.name] },
    estimatedBytes: rows * (rowBytes + head.byteLength),
    async *samples(): AsyncGenerator<Sample> {
      let i = 0;
      for await (const row of cutRows(features.open(), features.header.dataOffset, rowBytes, rows, what)) {
        const key = rowKey(i);
        const npy = Buffer.concat([head, row]);
        const members = [{ ext: "npy", size: npy.byteLength, bytes: npy, origin: `${what} row ${i}` }];
        if (labelValues) {
          const cls = Buffer.from(String(labelValues[i]));
          members.push({ ext: "cls", size: cls.byteLength, bytes: cls, origin: `${basename(path)}:${labels!.name}[${i}]` });
        }
        yield { key, split: opts.ratios ? assignSplit(opts.ratios, opts.seed, key) : "", members };
        i++;
      }
    },
    notes: () => ({ imageSizes: {}, skipped: [] }),
  };
}

async function npyFile(path: string): Promise<ArrayInput> {
  const fh = await open(path, "r");
  const head = Buffer.alloc(HEAD_BYTES);
  try {
    const { bytesRead } = await fh.read(head, 0, HEAD_BYTES, 0);
    return { name: basename(path, ".npy"), header: parseNpyHeader(head.subarray(0, bytesRead), path), open: () => createReadStream(path, { highWaterMark: 1024 * 1024 }) };
  } finally {
    await fh.close();
  }
}

async function npzArrays(path: string): Promise<{ features: ArrayInput; labels?: ArrayInput }> {
  const entries = (await readZipEntries(path)).filter((e) => e.name.endsWith(".npy"));
  const arrays = await Promise.all(entries.map((e) => npzArray(path, e)));
  const byName = (names: string[]) => arrays.filter((a) => names.includes(a.name.toLowerCase()));
  let labels = byName(LABEL_NAMES);
  let features = arrays.filter((a) => !labels.includes(a));
  if (features.length > 1) features = byName(FEATURE_NAMES).filter((a) => !labels.includes(a));
  if (labels.length === 0 && arrays.length === 2) {
    // Two unnamed arrays: the labels are the 1-D integer one as long as the other's first dimension.
    const [a, b] = arrays as [ArrayInput, ArrayInput];
    const isLabels = (l: ArrayInput, f: ArrayInput) => l.header.shape.length === 1 && /^[<>|=][biu]/.test(l.header.descr) && l.header.shape[0] === f.header.shape[0];
    if (isLabels(b, a) !== isLabels(a, b)) [features, labels] = isLabels(b, a) ? [[a], [b]] : [[b], [a]];
  }
  if (features.length !== 1 || labels.length > 1) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `cannot tell features from labels in ${path} (arrays: ${arrays.map((a) => a.name).join(", ") || "none"}); save them as np.savez(path, x=features, y=labels)`,
      { path },
    );
  }
  return { features: features[0]!, labels: labels[0] };
}

async function npzArray(path: string, entry: ZipEntry): Promise<ArrayInput> {
  const name = entry.name.slice(0, -4);
  const openEntry = () => readZipEntry(path, entry.name);
  let head = Buffer.alloc(0);
  for await (const piece of openEntry()) {
    head = Buffer.concat([head, piece]);
    if (head.length >= HEAD_BYTES) break;
  }
  return { name, header: parseNpyHeader(head, `${path}:${name}`), open: openEntry };
}

async function dataOf(a: ArrayInput): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of a.open()) parts.push(Buffer.from(p));
  return Buffer.concat(parts).subarray(a.header.dataOffset);
}

/** Cuts the array bytes after the header into `rows` rows of `rowBytes`. */
async function* cutRows(source: AsyncIterable<Uint8Array>, dataOffset: number, rowBytes: number, rows: number, what: string): AsyncGenerator<Buffer> {
  let skip = dataOffset;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let emitted = 0;
  for await (const raw of source) {
    let piece = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (skip > 0) {
      const n = Math.min(skip, piece.length);
      skip -= n;
      piece = piece.subarray(n);
    }
    pending.push(piece);
    pendingBytes += piece.length;
    if (pendingBytes < rowBytes || rowBytes === 0) continue;
    let all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    while (all.length >= rowBytes && emitted < rows) {
      yield Buffer.from(all.subarray(0, rowBytes));
      all = all.subarray(rowBytes);
      emitted++;
    }
    pending = [all];
    pendingBytes = all.length;
  }
  if (rowBytes === 0) for (; emitted < rows; emitted++) yield Buffer.alloc(0);
  if (emitted < rows) throw new O3mlError("INVALID_ARGUMENT", `${what} ends after ${emitted} of its ${rows} rows; the file is truncated`, { path: what });
}
