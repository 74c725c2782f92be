import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { O3mlError } from "@o3ml/errors";

/** torch's reader memory-maps storages, so their data starts on a multiple of this (torch's kFieldAlignment). */
const ALIGNMENT = 64;
const U32_MAX = 0xffffffff;
const LOCAL_HEADER = 30;
// DOS date of 1980-01-01 00:00: a fixed time keeps exports of one checkpoint byte-identical.
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

interface Written {
  name: Buffer;
  offset: number;
  size: number;
  crc: number;
}

/**
 * Writes the ZIP container of torch.save's format: every record STORED
 * (uncompressed) under one top-level folder, each record's data aligned to
 * 64 bytes by an "FB" padding field in its local header, exactly as
 * PyTorch's own writer (caffe2/serialize/inline_container.cc) pads them, and
 * ZIP64 fields wherever a size or offset needs them (checkpoints over 4 GiB).
 *
 * Records are streamed: the local header goes out first with a zero CRC,
 * the data follows, and the CRC is written into the header afterwards, so
 * memory stays bounded whatever the storage size. The file is written beside
 * its destination and renamed into place by `finish()`: no reader ever sees
 * a partial export.
 */
export class TorchZipWriter {
  private readonly records: Written[] = [];
  private pos = 0;

  private constructor(
    private readonly fh: FileHandle,
    private readonly tmp: string,
    private readonly dest: string,
    private readonly archive: string,
    private readonly forceZip64: boolean,
  ) {}

  /** `archive` is the folder every record sits in; `forceZip64` (for tests) writes ZIP64 fields even when not needed. */
  static async create(dest: string, archive = "archive", opts: { forceZip64?: boolean } = {}): Promise<TorchZipWriter> {
    if (!/^[A-Za-z0-9_.-]+$/.test(archive)) throw new O3mlError("INVALID_ARGUMENT", `archive folder name ${JSON.stringify(archive)} must be letters, digits, '_', '.' or '-'`);
    const tmp = `${dest}.o3ml-partial`;
    let fh: FileHandle;
    try {
      fh = await open(tmp, "w");
    } catch (err) {
      throw new O3mlError("INVALID_ARGUMENT", `cannot write ${dest}: ${(err as Error).message}`, {}, { cause: err });
    }
    return new TorchZipWriter(fh, tmp, dest, archive, !!opts.forceZip64);
  }

  /** Adds record `<archive>/<name>` of exactly `size` bytes, streamed from `data`. */
  async add(name: string, size: number, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<void> {
    const full = Buffer.from(`${this.archive}/${name}`, "utf8");
    const offset = this.pos;
    const big = this.forceZip64 || size >= U32_MAX;
    const zip64 = big ? Buffer.concat([u16(1), u16(16), u64(size), u64(size)]) : Buffer.alloc(0);
    const start = offset + LOCAL_HEADER + full.length + zip64.length + 4;
    const pad = (ALIGNMENT - (start % ALIGNMENT)) % ALIGNMENT;
    const padding = Buffer.concat([Buffer.from("FB", "latin1"), u16(pad), Buffer.alloc(pad, "Z")]);
    const header = Buffer.concat([
      u32(0x04034b50),
      u16(big ? 45 : 20),
      u16(0),
      u16(0),
      u16(0),
      u16(DOS_DATE),
      u32(0), // CRC-32, written once the data has passed
      u32(big ? U32_MAX : size),
      u32(big ? U32_MAX : size),
      u16(full.length),
      u16(zip64.length + padding.length),
      full,
      zip64,
      padding,
    ]);
    await this.write(header);
    let crc = 0;
    let n = 0;
    for await (const piece of data instanceof Uint8Array ? [data] : data) {
      n += piece.byteLength;
      if (n > size) throw new O3mlError("INTERNAL", `export: record ${name} has more than its ${size} declared bytes`);
      crc = crc32(piece, crc);
      await this.write(piece);
    }
    if (n !== size) throw new O3mlError("INTERNAL", `export: record ${name} ended after ${n} of its ${size} declared bytes`);
    await this.fh.write(u32(crc), 0, 4, offset + 14);
    this.records.push({ name: full, offset, size, crc });
  }

  /** Writes the central directory and moves the file into place. */
  async finish(): Promise<void> {
    const cdStart = this.pos;
    for (const r of this.records) await this.write(centralHeader(r, this.forceZip64));
    const cdSize = this.pos - cdStart;
    const count = this.records.length;
    if (this.forceZip64 || count >= 0xffff || cdStart >= U32_MAX || cdSize >= U32_MAX) {
      const eocd64 = this.pos;
      await this.write(Buffer.concat([u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(count), u64(count), u64(cdSize), u64(cdStart)]));
      await this.write(Buffer.concat([u32(0x07064b50), u32(0), u64(eocd64), u32(1)]));
    }
    const c16 = Math.min(count, 0xffff);
    await this.write(Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(c16), u16(c16), u32(Math.min(cdSize, U32_MAX)), u32(Math.min(cdStart, U32_MAX)), u16(0)]));
    await this.fh.sync();
    await this.fh.close();
    await rename(this.tmp, this.dest);
  }

  /** Removes the partial file. */
  async abort(): Promise<void> {
    await this.fh.close().catch(() => {});
    await rm(this.tmp, { force: true });
  }

  private async write(b: Uint8Array): Promise<void> {
    let done = 0;
    while (done < b.byteLength) {
      const { bytesWritten } = await this.fh.write(b, done, b.byteLength - done, this.pos + done);
      done += bytesWritten;
    }
    this.pos += b.byteLength;
  }
}

function centralHeader(r: Written, force: boolean): Buffer {
  const bigSize = force || r.size >= U32_MAX;
  const bigOffset = force || r.offset >= U32_MAX;
  const fields = [...(bigSize ? [u64(r.size), u64(r.size)] : []), ...(bigOffset ? [u64(r.offset)] : [])];
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
    u32(r.crc),
    u32(bigSize ? U32_MAX : r.size),
    u32(bigSize ? U32_MAX : r.size),
    u16(r.name.length),
    u16(extra.length),
    u16(0),
    u16(0),
    u16(0),
    u32(0),
    u32(bigOffset ? U32_MAX : r.offset),
    r.name,
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
