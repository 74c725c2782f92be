import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createInflateRaw } from "node:zlib";
import { O3mlError } from "@o3ml/errors";

/**
 * Just enough of the zip format to read the arrays of an .npz (numpy writes
 * them with Python's zipfile: stored or deflated, zip64 for large arrays).
 * Entries are found through the central directory and read as streams.
 */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export async function readZipEntries(path: string): Promise<ZipEntry[]> {
  const bad = (why: string) => new O3mlError("INVALID_ARGUMENT", `${path} is not a readable .npz (zip) file: ${why}`, { path });
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    const tailLen = Math.min(size, 65557);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    const at = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (at === -1 || tail.readUInt32LE(at) !== EOCD) throw bad("no end-of-central-directory record");
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    if (at >= 20 && tail.readUInt32LE(at - 20) === ZIP64_LOCATOR) {
      const recOffset = Number(tail.readBigUInt64LE(at - 12));
      const rec = Buffer.alloc(56);
      await fh.read(rec, 0, 56, recOffset);
      count = Number(rec.readBigUInt64LE(32));
      cdSize = Number(rec.readBigUInt64LE(40));
      cdOffset = Number(rec.readBigUInt64LE(48));
    }
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const entries: ZipEntry[] = [];
    for (let p = 0, i = 0; i < count; i++) {
      if (cd.readUInt32LE(p) !== CENTRAL) throw bad(`central directory entry ${i} is damaged`);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const e: ZipEntry = {
        name: cd.toString("utf8", p + 46, p + 46 + nameLen),
        method: cd.readUInt16LE(p + 10),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localHeaderOffset: cd.readUInt32LE(p + 42),
      };
      applyZip64(e, cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen));
      if (e.method !== 0 && e.method !== 8) throw bad(`${e.name} uses compression method ${e.method}; only stored and deflated entries are read`);
      entries.push(e);
      p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/** The uncompressed bytes of `entry`, streamed. */
export async function* readZipEntry(path: string, entry: ZipEntry): AsyncGenerator<Uint8Array> {
  const fh = await open(path, "r");
  const local = Buffer.alloc(30);
  try {
    await fh.read(local, 0, 30, entry.localHeaderOffset);
  } finally {
    await fh.close();
  }
  if (local.readUInt32LE(0) !== LOCAL) throw new O3mlError("INVALID_ARGUMENT", `${path}: the local header of ${entry.name} is damaged`, { path });
  const start = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  if (entry.compressedSize === 0) return;
  const raw = createReadStream(path, { start, end: start + entry.compressedSize - 1, highWaterMark: 1024 * 1024 });
  if (entry.method === 0) {
    yield* raw as AsyncIterable<Buffer>;
    return;
  }
  const inflate = createInflateRaw();
  raw.on("error", (err) => inflate.destroy(err));
  yield* raw.pipe(inflate) as AsyncIterable<Buffer>;
}

/** Zip64 extra field (0x0001): 64-bit sizes and offset for the fields set to 0xFFFFFFFF. */
function applyZip64(e: ZipEntry, extra: Buffer): void {
  for (let p = 0; p + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    if (id === 0x0001) {
      let q = p + 4;
      const next = () => ((q += 8), Number(extra.readBigUInt64LE(q - 8)));
      if (e.size === 0xffffffff) e.size = next();
      if (e.compressedSize === 0xffffffff) e.compressedSize = next();
      if (e.localHeaderOffset === 0xffffffff) e.localHeaderOffset = next();
      return;
    }
    p += 4 + len;
  }
}
