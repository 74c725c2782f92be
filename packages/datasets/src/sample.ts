/**
 * A sample as pushed: a key (relative path without extension, WebDataset's
 * grouping key), the split it belongs to, and its members, each becoming the
 * tar member `<key>.<ext>`.
 */
export interface SampleMember {
  /** Lowercase extension, the WebDataset field name ("png", "cls", "npy", "json"). */
  ext: string;
  size: number;
  /** The member's bytes: given in memory, or opened (again) on demand. */
  bytes?: Uint8Array;
  open?: () => AsyncIterable<Uint8Array>;
  /** Where the bytes come from, for error messages. */
  origin: string;
}

export interface Sample {
  key: string;
  split: string;
  members: SampleMember[];
}

export type SourceKind = "imagefolder" | "files" | "npy" | "npz" | "csv" | "parquet";

export interface SourceSchema {
  fields: string[];
  classes: string[];
  columns: string[];
}

/** Facts about the input worth telling the user, gathered while samples are read. */
export interface SourceNotes {
  /** "WxH" → number of images of that size (ImageFolder inputs). */
  imageSizes: Record<string, number>;
  /** Hidden files and folders (names starting with '.') left out. */
  skipped: string[];
}

/**
 * Where samples come from. `samples()` yields them in one deterministic order
 * (by key) every time it is called, so a push can read its input twice.
 */
export interface SampleSource {
  kind: SourceKind;
  schema: SourceSchema;
  /** Bytes of all member contents, for progress bars. */
  estimatedBytes: number;
  samples(): AsyncIterable<Sample>;
  notes(): SourceNotes;
}
