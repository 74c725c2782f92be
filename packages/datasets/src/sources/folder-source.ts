import { createReadStream } from "node:fs";
import { O3mlError } from "@o3ml/errors";
import type { Sample, SampleMember, SampleSource, SourceNotes } from "../sample.js";
import { assignSplit, type SplitRatios } from "../split-ratios.js";
import { walkTree, type TreeFile } from "./file-tree.js";
import { imageSize } from "./image-size.js";
import { keyAndExt } from "./sample-keys.js";

/** Top-level folders that name splits. */
const SPLIT_DIRS = new Set(["train", "val", "test"]);

export interface FolderOptions {
  /** Force "imagefolder" or "files"; detected when absent. */
  kind?: "imagefolder" | "files";
  ratios?: SplitRatios;
  seed: number;
}

/**
 * A folder of files as samples. ImageFolder layout (every file in a folder
 * per class, optionally under train/ val/ test/) adds a `cls` member with the
 * class index (classes sorted by name, as torchvision numbers them); any
 * other tree is "files": one sample per key, its files as members.
 */
export async function folderSource(root: string, opts: FolderOptions): Promise<SampleSource> {
  const { files, skipped } = await walkTree(root);
  if (files.length === 0) {
    throw new O3mlError("INVALID_ARGUMENT", `${root} has no files to push${skipped.length ? ` (only hidden ones: ${skipped.slice(0, 3).join(", ")})` : ""}; point at the dataset's folder`, {
      path: root,
    });
  }
  const splitDirs = files.every((f) => f.rel.includes("/") && SPLIT_DIRS.has(f.rel.split("/")[0]!));
  const inner = (f: TreeFile) => (splitDirs ? f.rel.slice(f.rel.indexOf("/") + 1) : f.rel);
  const flat = files.find((f) => inner(f).split("/").length !== 2);
  if (opts.kind === "imagefolder" && flat) {
    throw new O3mlError("INVALID_ARGUMENT", `${root} is not an ImageFolder tree: ${flat.rel} is not inside a class folder (<class>/<file>${splitDirs ? " under a split folder" : ""})`, {
      path: flat.abs,
    });
  }
  const imageFolder = opts.kind === "imagefolder" || (opts.kind === undefined && !flat);
  const classes = imageFolder ? [...new Set(files.map((f) => inner(f).split("/")[0]!))].sort() : [];
  const classIndex = new Map(classes.map((c, i) => [c, i]));

  const byKey = new Map<string, { split: string; members: SampleMember[]; files: Map<string, string> }>();
  const sizes = new Map<string, string>();
  for (const f of files) {
    const { key, ext } = keyAndExt(f.rel);
    let s = byKey.get(key);
    if (!s) {
      const split = opts.ratios ? assignSplit(opts.ratios, opts.seed, key) : splitDirs ? f.rel.split("/")[0]! : "";
      byKey.set(key, (s = { split, members: [], files: new Map() }));
      if (imageFolder) {
        const cls = new TextEncoder().encode(String(classIndex.get(inner(f).split("/")[0]!)));
        s.members.push({ ext: "cls", size: cls.byteLength, bytes: cls, origin: `class of ${f.rel}` });
      }
    }
    const clash = s.files.get(ext) ?? (imageFolder && ext === "cls" ? "the class label" : undefined);
    if (clash) {
      throw new O3mlError("INVALID_ARGUMENT", `${f.rel} and ${clash} would both be member ${key}.${ext} of one sample; rename one of them`, { path: f.abs });
    }
    s.files.set(ext, f.rel);
    s.members.push({ ext, size: f.size, open: () => readFile(f, imageFolder ? { ext, onDims: (dims) => sizes.set(key, dims) } : undefined), origin: f.abs });
  }
  const keys = [...byKey.keys()].sort();
  const fields = new Set<string>();
  for (const s of byKey.values()) for (const m of s.members) fields.add(m.ext);

  return {
    kind: imageFolder ? "imagefolder" : "files",
    schema: { fields: [...fields].sort(), classes, columns: [] },
    estimatedBytes: files.reduce((n, f) => n + f.size, 0),
    async *samples(): AsyncGenerator<Sample> {
      for (const key of keys) {
        const s = byKey.get(key)!;
        yield { key, split: s.split, members: s.members };
      }
    },
    notes(): SourceNotes {
      const imageSizes: Record<string, number> = {};
      for (const d of sizes.values()) imageSizes[d] = (imageSizes[d] ?? 0) + 1;
      return { imageSizes, skipped };
    },
  };
}

/** Streams a file; for images, reports the size found in its first bytes. */
async function* readFile(f: TreeFile, image?: { ext: string; onDims: (dims: string) => void }): AsyncGenerator<Uint8Array> {
  let first = true;
  try {
    for await (const chunk of createReadStream(f.abs, { highWaterMark: 1024 * 1024 })) {
      if (first && image) {
        const d = imageSize(chunk as Buffer, { abs: f.abs, ext: image.ext, size: f.size });
        if (d) image.onDims(`${d.width}x${d.height}`);
      }
      first = false;
      yield chunk as Buffer;
    }
  } catch (err) {
    if (err instanceof O3mlError) throw err;
    throw new O3mlError("INVALID_ARGUMENT", `cannot read ${f.abs}: ${(err as Error).message}; fix it or remove it from the dataset folder`, { path: f.abs }, { cause: err });
  }
}
