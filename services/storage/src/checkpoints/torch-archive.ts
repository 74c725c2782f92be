import { crc32 } from "node:zlib";
import { O3mlError } from "@o3ml/errors";
import type { CheckpointTable } from "@o3ml/integrity";

/**
 * The torch archive view of a checkpoint: the zip torch.save writes, laid out
 * from the checkpoint table alone. Every record is STORED (uncompressed)
 * under one top-level folder, each record's data starts on a multiple of 64
 * bytes (an "FB" padding field in its local header, as PyTorch's own writer
 * pads them, so torch can memory-map storages), ZIP64 fields appear wherever a
 * size or offset needs them, and the CRC-32 of every entry comes from the
 * table. Nothing depends on the data, so the layout, and with it the byte at
 * any offset, is known before a byte of the checkpoint is read: a range of
 * the archive is generated header bytes and ranges of entries.
 *
 * This is the project's one torch-archive writer: `ReadArchive` serves it,
 * and `o3ml ckpt export` and the `o3://` filesystem read it from there.
 */

/** torch's reader memory-maps storages, so their data starts on a multiple of this (torch's kFieldAlignment). */
export const ARCHIVE_ALIGNMENT = 64;
/** The folder every record sits in: what torch.save names it when writing to a file object. */
export const ARCHIVE_FOLDER = "archive";
export const ARCHIVE_CONTENT_TYPE = "application/zip";

const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
/** A local header's ZIP64 extra field: its header, then both sizes. */
const ZIP64_LOCAL_EXTRA = 20;
/** The FB padding field's header ("FB", then its length); the padding follows. */
const FB_FIELD = 4;
const EOCD = 22;
const EOCD64 = 56;
const EOCD64_LOCATOR = 20;
// DOS date of 1980-01-01 00:00: a fixed time keeps the archive of one checkpoint byte-identical.
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** Where a stretch of the archive's bytes comes from. */
export type ArchivePiece =
  /** Bytes the layout generates: headers, small records, the central directory. */
  | { start: number; bytes: Buffer }
  /** Bytes of table entry `entry`, from its byte `from` on (the piece covers `size` of them). */
  | { start: number; entry: number; from: number; size: number };

export interface ArchiveLayout {
  size: number;
  /** In archive order, covering [0, size) without gaps. */
  pieces: ArchivePiece[];
}

/** A record before it is placed: its name and size, and where its bytes come from. */
interface RecordSpec {
  name: string;
  size: number;
  data: { entry: number } | { bytes: Buffer };
}

/**
 * The records of the archive in torch.save's order: the skeleton as
 * `data.pkl`, the format records torch.save writes beside it, every storage
 * as `data/<name>`, then `version`. undefined when the table has no skeleton
 * (a checkpoint that is not a torch one has no archive view).
 */
function recordsOf(table: Pick<CheckpointTable, "entries">): RecordSpec[] | undefined {
  const [skeleton, ...storages] = table.entries;
  if (skeleton?.kind !== "skeleton") return undefined;
  const small = (name: string, text: string): RecordSpec => ({ name, size: Buffer.byteLength(text), data: { bytes: Buffer.from(text, "latin1") } });
  return [
    { name: "data.pkl", size: skeleton.nbytes, data: { entry: 0 } },
    small(".format_version", "1"),
    small(".storage_alignment", String(ARCHIVE_ALIGNMENT)),
    // torch keeps storages little-endian and says so; the service stores them as sent (little-endian).
    small("byteorder", "little"),
    ...storages.map((e, i): RecordSpec => ({ name: `data/${e.name}`, size: e.nbytes, data: { entry: i + 1 } })),
    // torch's own writer stores the format version as "3\n".
    small("version", "3\n"),
  ];
}

/** Where one record sits: the arithmetic the layout and its size share. */
interface Placement {
  name: Buffer;
  size: number;
  /** Offset of its local header. */
  offset: number;
  /** Whether its local header carries ZIP64 sizes. */
  zip64: boolean;
  /** Bytes of "Z" in its FB field, so its data starts aligned. */
  pad: number;
  headerLength: number;
}

/** The records placed one after another, and where the central directory starts and ends. */
function place(records: RecordSpec[], force: boolean): { placed: Placement[]; cdStart: number; cdSize: number; size: number } {
  const placed: Placement[] = [];
  let pos = 0;
  let cdSize = 0;
  for (const r of records) {
    const name = Buffer.from(`${ARCHIVE_FOLDER}/${r.name}`, "utf8");
    const zip64 = force || r.size >= U32_MAX;
    const fixed = LOCAL_HEADER + name.length + (zip64 ? ZIP64_LOCAL_EXTRA : 0) + FB_FIELD;
    const pad = (ARCHIVE_ALIGNMENT - ((pos + fixed) % ARCHIVE_ALIGNMENT)) % ARCHIVE_ALIGNMENT;
    const p = { name, size: r.size, offset: pos, zip64, pad, headerLength: fixed + pad };
    placed.push(p);
    pos += p.headerLength + r.size;
    cdSize += CENTRAL_HEADER + name.length + centralExtraLength(p, force);
  }
  const zip64End = force || records.length >= U16_MAX || pos >= U32_MAX || cdSize >= U32_MAX;
  return { placed, cdStart: pos, cdSize, size: pos + cdSize + (zip64End ? EOCD64 + EOCD64_LOCATOR : 0) + EOCD };
}

/** The archive's size in bytes, or 0 when the checkpoint has no archive view. Needs no CRC and no data. */
export function archiveSize(table: Pick<CheckpointTable, "entries">): number {
  const records = recordsOf(table);
  return records ? place(records, false).size : 0;
}

/**
 * The archive's layout. `crcOf(i)` is the CRC-32 of table entry `i` (callers
 * take it from the table, or compute it for checkpoints saved before the table
 * recorded it). `forceZip64` (tests only) writes ZIP64 fields even where no
 * size or offset needs them, so those paths are exercised without 4 GiB.
 */
export function archiveLayout(table: Pick<CheckpointTable, "entries">, crcOf: (entry: number) => number, opts: { forceZip64?: boolean } = {}): ArchiveLayout | undefined {
  const records = recordsOf(table);
  if (!records) return undefined;
  const force = !!opts.forceZip64;
  const { placed, cdStart, cdSize, size } = place(records, force);
  const pieces: ArchivePiece[] = [];
  const central: Buffer[] = [];
  for (const [i, r] of records.entries()) {
    const p = placed[i]!;
    const crc = "entry" in r.data ? crcOf(r.data.entry) >>> 0 : crc32(r.data.bytes) >>> 0;
    pieces.push({ start: p.offset, bytes: localHeader(p, crc) });
    const dataStart = p.offset + p.headerLength;
    if (r.size > 0) pieces.push("entry" in r.data ? { start: dataStart, entry: r.data.entry, from: 0, size: r.size } : { start: dataStart, bytes: r.data.bytes });
    central.push(centralHeader(p, crc, force));
  }
  const count = records.length;
  const tail: Buffer[] = [...central];
  if (force || count >= U16_MAX || cdStart >= U32_MAX || cdSize >= U32_MAX) {
    tail.push(Buffer.concat([u32(0x06064b50), u64(EOCD64 - 12), u16(45), u16(45), u32(0), u32(0), u64(count), u64(count), u64(cdSize), u64(cdStart)]));
    tail.push(Buffer.concat([u32(0x07064b50), u32(0), u64(cdStart + cdSize), u32(1)]));
  }
  const c16 = Math.min(count, U16_MAX);
  tail.push(Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(c16), u16(c16), u32(Math.min(cdSize, U32_MAX)), u32(Math.min(cdStart, U32_MAX)), u16(0)]));
  const directory = Buffer.concat(tail);
  pieces.push({ start: cdStart, bytes: directory });
  if (cdStart + directory.length !== size) {
    throw new O3mlError("INTERNAL", `torch archive layout: the central directory ends at ${cdStart + directory.length}, where the placement expects ${size}; please report this`);
  }
  return { size, pieces };
}

/** The pieces of [offset, end) of the archive, each cut to that range. */
export function piecesIn(layout: ArchiveLayout, offset: number, end: number): ArchivePiece[] {
  const out: ArchivePiece[] = [];
  // Binary search for the first piece that ends after `offset`.
  let lo = 0;
  let hi = layout.pieces.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const p = layout.pieces[mid]!;
    if (p.start + pieceSize(p) <= offset) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < layout.pieces.length; i++) {
    const p = layout.pieces[i]!;
    if (p.start >= end) break;
    const from = Math.max(offset, p.start) - p.start;
    const to = Math.min(end, p.start + pieceSize(p)) - p.start;
    if (to <= from) continue;
    out.push("bytes" in p ? { start: p.start + from, bytes: p.bytes.subarray(from, to) } : { start: p.start + from, entry: p.entry, from: p.from + from, size: to - from });
  }
  return out;
}

export function pieceSize(p: ArchivePiece): number {
  return "bytes" in p ? p.bytes.length : p.size;
}

/**
 * A local file header, padded so the record's data starts on a multiple of
 * ARCHIVE_ALIGNMENT. The CRC is known up front, so no data descriptor follows
 * the data and every byte of the header is fixed by the table.
 */
function localHeader(p: Placement, crc: number): Buffer {
  const zip64 = p.zip64 ? Buffer.concat([u16(1), u16(16), u64(p.size), u64(p.size)]) : Buffer.alloc(0);
  const padding = Buffer.concat([Buffer.from("FB", "latin1"), u16(p.pad), Buffer.alloc(p.pad, "Z")]);
  return Buffer.concat([
    u32(0x04034b50),
    u16(p.zip64 ? 45 : 20),
    u16(0),
    u16(0), // STORED
    u16(0),
    u16(DOS_DATE),
    u32(crc),
    u32(p.zip64 ? U32_MAX : p.size),
    u32(p.zip64 ? U32_MAX : p.size),
    u16(p.name.length),
    u16(zip64.length + padding.length),
    p.name,
    zip64,
    padding,
  ]);
}

/** ZIP64 fields a central header needs: both sizes when the size does not fit 32 bits, the offset when it does not. */
function centralFields(p: Placement, force: boolean): { bigSize: boolean; bigOffset: boolean } {
  return { bigSize: force || p.size >= U32_MAX, bigOffset: force || p.offset >= U32_MAX };
}

function centralExtraLength(p: Placement, force: boolean): number {
  const { bigSize, bigOffset } = centralFields(p, force);
  const fields = (bigSize ? 2 : 0) + (bigOffset ? 1 : 0);
  return fields ? 4 + 8 * fields : 0;
}

function centralHeader(p: Placement, crc: number, force: boolean): Buffer {
  const { bigSize, bigOffset } = centralFields(p, force);
  const fields = [...(bigSize ? [u64(p.size), u64(p.size)] : []), ...(bigOffset ? [u64(p.offset)] : [])];
  const extra = fields.length ? Buffer.concat([u16(1), u16(fields.length * 8), ...fields]) : Buffer.alloc(0);
  const version = extra.length ? 45 : 20;
  return Buffer.concat([
    u32(0x02014b50),
    u16(version),
    u16(version),
    u16(0),
    u16(0),
    u16(0),
    u16(DOS_DATE),
    u32(crc),
    u32(bigSize ? U32_MAX : p.size),
    u32(bigSize ? U32_MAX : p.size),
    u16(p.name.length),
    u16(extra.length),
    u16(0),
    u16(0),
    u16(0),
    u32(0),
    u32(bigOffset ? U32_MAX : p.offset),
    p.name,
    extra,
  ]);
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}
