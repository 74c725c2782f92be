/**
 * The checkpoint table of an object manifest (proto CheckpointTable): what a
 * checkpoint saved through the CheckpointService adds to its object manifest.
 *
 * A checkpoint's entries are the pickled skeleton, then one per tensor storage.
 * A large entry is chunked on its own, so it owns a run of whole chunks
 * [firstChunk, firstChunk + chunkCount) whose sizes add up to its nbytes. A
 * small one may be packed: stored with other small entries in one chunk, a
 * pack, whose bytes [offset, offset + nbytes) it is. The chunk list is in order
 * of first use: walking the entries in table order, each owned run and each
 * pack first named is the next chunk, and a packed entry may also name a pack
 * an earlier entry named (a reused entry's pack from an earlier save). So a
 * reader streams the chunks in list order and holds a pack while entries still
 * name it. A table without packed entries tiles its chunk list exactly, so
 * its object's bytes are its entries' bytes in order (manifest format 1); one
 * with packed entries is manifest format 2.
 *
 * Internal to the package: manifest.ts encodes and decodes it.
 */
import { O3mlError } from "@o3ml/errors";
import { o3ml } from "@o3ml/proto";
import { isCid } from "./cid.js";

type Writer = ReturnType<typeof o3ml.v1.CheckpointEntry.encode>;

export type EntryKind = "skeleton" | "storage";

export interface CheckpointEntry {
  /** For a storage: the key the skeleton's persistent ids name. */
  name: string;
  kind: EntryKind;
  /** torch dtype name of the elements ("" for the skeleton). */
  dtype: string;
  nbytes: number;
  firstChunk: number;
  chunkCount: number;
  /**
   * CRC-32 of the entry's bytes, recorded at save time so the torch archive
   * view's headers need no data. Absent (or 0) when the checkpoint predates
   * it, and for an empty entry, whose CRC is 0.
   */
  crc32?: number;
  /** Stored in a pack (chunkCount 1, the pack at firstChunk), at `offset` in it. */
  packed?: boolean;
  /** For a packed entry: where its bytes start in the pack. */
  offset?: number;
}

/**
 * What a checkpoint says of itself: its key, run, place in training and lineage. The one list
 * of these fields: the table stores them, a save's header announces them and CheckpointInfo
 * reports them.
 */
export interface CheckpointFacts {
  key: string;
  run: string;
  step: number;
  epoch: number;
  metrics: Record<string, number>;
  /** Manifest CID of the dataset version trained on, or "". */
  datasetCid: string;
  /** Manifest CID of the parent checkpoint, or "". */
  parentCid: string;
}

export interface CheckpointTable extends CheckpointFacts {
  entries: CheckpointEntry[];
}

const KIND_TO_WIRE: Record<EntryKind, number> = { skeleton: o3ml.v1.EntryKind.SKELETON, storage: o3ml.v1.EntryKind.STORAGE };

/**
 * The rules every table obeys, checked the same way on encode and decode.
 * Returns a description of the first violation, or undefined.
 */
export function tableProblem(t: CheckpointTable, chunkSizes: readonly number[]): string | undefined {
  if (!Number.isSafeInteger(t.step) || !Number.isSafeInteger(t.epoch)) return `its step ${t.step} or epoch ${t.epoch} is not a whole number`;
  if (t.datasetCid !== "" && !isCid(t.datasetCid)) return `its dataset_cid ${JSON.stringify(t.datasetCid)} is not a CID`;
  if (t.parentCid !== "" && !isCid(t.parentCid)) return `its parent_cid ${JSON.stringify(t.parentCid)} is not a CID`;
  for (const [name, value] of Object.entries(t.metrics)) {
    if (typeof value !== "number") return `metric ${JSON.stringify(name)} is not a number`;
  }
  const names = new Set<string>();
  /** Chunks first named by a packed entry: later packed entries may name them again. */
  const packs = new Set<number>();
  let next = 0;
  for (const [i, e] of t.entries.entries()) {
    const what = `entry ${i} (${JSON.stringify(e.name)})`;
    if (e.kind === "skeleton") {
      if (i !== 0) return `${what} is a second skeleton or a skeleton after a storage; the skeleton comes first`;
    } else if (e.kind === "storage") {
      if (e.name === "") return `${what} is a storage without a name`;
      if (names.has(e.name)) return `${what} repeats a storage name`;
      names.add(e.name);
    } else {
      return `${what} has an unknown kind`;
    }
    if (!Number.isSafeInteger(e.nbytes) || e.nbytes < 0) return `${what} has an invalid nbytes ${e.nbytes}`;
    const crc = e.crc32 ?? 0;
    if (!Number.isInteger(crc) || crc < 0 || crc > 0xffffffff) return `${what} has an invalid crc32 ${crc}`;
    if (e.packed) {
      const offset = e.offset ?? 0;
      if (e.chunkCount !== 1) return `${what} is packed but names ${e.chunkCount} chunks, not its one pack`;
      if (!packs.has(e.firstChunk) && e.firstChunk !== next) return `${what} is packed in chunk ${e.firstChunk}, which is neither the next chunk (${next}) nor a pack an earlier entry named`;
      const size = chunkSizes[e.firstChunk];
      if (size === undefined) return `${what} names a pack past the end of the chunk list (${chunkSizes.length} chunks)`;
      if (!Number.isSafeInteger(offset) || offset < 0 || offset + e.nbytes > size) return `${what} declares bytes [${offset}, ${offset + e.nbytes}) of its pack, which holds ${size}`;
      if (e.firstChunk === next) {
        packs.add(next);
        next++;
      }
      continue;
    }
    if (e.offset) return `${what} has an offset but is not packed`;
    if (e.firstChunk !== next) return `${what} starts at chunk ${e.firstChunk}, not at chunk ${next} where the previous entry ended`;
    let bytes = 0;
    for (let c = e.firstChunk; c < e.firstChunk + e.chunkCount; c++) {
      const size = chunkSizes[c];
      if (size === undefined) return `${what} names chunks past the end of the chunk list (${chunkSizes.length} chunks)`;
      bytes += size;
    }
    if (bytes !== e.nbytes) return `${what} declares ${e.nbytes} bytes but its chunks hold ${bytes}`;
    next = e.firstChunk + e.chunkCount;
  }
  if (next !== chunkSizes.length) return `its entries cover ${next} chunks but the manifest lists ${chunkSizes.length}`;
  return undefined;
}

/** Part of a chunk: bytes [from, to) of chunk `chunk` of the manifest. */
export interface ChunkRange {
  chunk: number;
  from: number;
  to: number;
}

/**
 * Where bytes [from, to) of entry `e` are in the manifest's `chunks`: a range
 * of its pack, or of the run of chunks it owns.
 */
export function entryRanges(e: CheckpointEntry, chunks: readonly { size: number }[], from = 0, to = e.nbytes): ChunkRange[] {
  if (e.packed) {
    const at = e.offset ?? 0;
    return to > from ? [{ chunk: e.firstChunk, from: at + from, to: at + to }] : [];
  }
  const out: ChunkRange[] = [];
  let pos = 0;
  for (let c = e.firstChunk; c < e.firstChunk + e.chunkCount && pos < to; c++) {
    const size = chunks[c]!.size;
    const end = pos + size;
    if (end > from) out.push({ chunk: c, from: Math.max(0, from - pos), to: Math.min(size, to - pos) });
    pos = end;
  }
  return out;
}

/** A checkpoint's bytes: its entries' sizes added up (its blobs may hold more: an earlier save's pack). */
export function checkpointBytes(t: Pick<CheckpointTable, "entries">): number {
  return t.entries.reduce((n, e) => n + e.nbytes, 0);
}

/** Whether any entry is packed: such a table needs manifest format 2. */
export function hasPacks(t: Pick<CheckpointTable, "entries">): boolean {
  return t.entries.some((e) => e.packed === true);
}

/**
 * Writes the table's fields in number order into `writer` (the body of an
 * embedded CheckpointTable message), omitting proto3 defaults as protobufjs
 * does, with the metrics map sorted by the UTF-8 bytes of its keys.
 */
export function writeTable(writer: Writer, t: CheckpointTable): void {
  for (const e of t.entries) {
    o3ml.v1.CheckpointEntry.encode(
      {
        name: e.name,
        kind: KIND_TO_WIRE[e.kind],
        dtype: e.dtype,
        nbytes: e.nbytes,
        firstChunk: e.firstChunk,
        chunkCount: e.chunkCount,
        crc32: e.crc32 ?? 0,
        // Absent unless packed, so a table without packs encodes as it did before they existed.
        ...(e.packed ? { packed: true, ...(e.offset ? { offset: e.offset } : {}) } : {}),
      },
      writer.uint32((1 << 3) | 2).fork(),
    ).ldelim();
  }
  if (t.run !== "") writer.uint32((2 << 3) | 2).string(t.run);
  if (t.step !== 0) writer.uint32(3 << 3).int64(t.step);
  if (t.epoch !== 0) writer.uint32(4 << 3).int64(t.epoch);
  for (const [name, value] of sortedByUtf8(t.metrics)) {
    writer.uint32((5 << 3) | 2).fork().uint32((1 << 3) | 2).string(name).uint32((2 << 3) | 1).double(value).ldelim();
  }
  if (t.datasetCid !== "") writer.uint32((6 << 3) | 2).string(t.datasetCid);
  if (t.parentCid !== "") writer.uint32((7 << 3) | 2).string(t.parentCid);
  if (t.key !== "") writer.uint32((8 << 3) | 2).string(t.key);
}

/** The decoded wire message as a table, or what is wrong with it (an entry kind this reader does not know). */
export function tableFromWire(m: o3ml.v1.CheckpointTable.$Properties): CheckpointTable | string {
  const entries: CheckpointEntry[] = [];
  for (const [i, e] of (m.entries ?? []).entries()) {
    const kind = e.kind === o3ml.v1.EntryKind.SKELETON ? "skeleton" : e.kind === o3ml.v1.EntryKind.STORAGE ? "storage" : undefined;
    if (!kind) return `entry ${i} has kind ${e.kind ?? 0}, which this o3ml does not know`;
    entries.push({
      name: e.name ?? "",
      kind,
      dtype: e.dtype ?? "",
      // 64-bit fields may decode to Long defaults when absent: see manifest.ts.
      nbytes: Number(e.nbytes ?? 0),
      firstChunk: e.firstChunk ?? 0,
      chunkCount: e.chunkCount ?? 0,
      ...(e.crc32 ? { crc32: e.crc32 } : {}),
      ...(e.packed ? { packed: true, offset: Number(e.offset ?? 0) } : {}),
    });
  }
  return {
    key: m.key ?? "",
    run: m.run ?? "",
    step: Number(m.step ?? 0),
    epoch: Number(m.epoch ?? 0),
    metrics: Object.fromEntries(sortedByUtf8(m.metrics ?? {})),
    datasetCid: m.datasetCid ?? "",
    parentCid: m.parentCid ?? "",
    entries,
  };
}

/** A copy of the table with every field present and the metrics in canonical order. */
export function normalizeTable(t: CheckpointTable): CheckpointTable {
  if (typeof t !== "object" || t === null || !Array.isArray(t.entries)) {
    throw new O3mlError("INVALID_ARGUMENT", "cannot encode object manifest: checkpoint must be a table with an entries list");
  }
  return {
    key: t.key ?? "",
    run: t.run ?? "",
    step: t.step ?? 0,
    epoch: t.epoch ?? 0,
    metrics: Object.fromEntries(sortedByUtf8(t.metrics ?? {})),
    datasetCid: t.datasetCid ?? "",
    parentCid: t.parentCid ?? "",
    entries: t.entries.map((e) => ({ ...e, dtype: e.dtype ?? "" })),
  };
}

export function sortedByUtf8<V>(map: Record<string, V>): [string, V][] {
  const entries = Object.entries(map).map(([k, v]) => [Buffer.from(k, "utf8"), k, v] as const);
  entries.sort((a, b) => Buffer.compare(a[0], b[0]));
  return entries.map(([, k, v]) => [k, v]);
}
