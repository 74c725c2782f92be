import { O3mlError } from "@o3ml/errors";

/**
 * The .npy format (numpy's NEP 1): magic "\x93NUMPY", a version, the header
 * length, then a Python dict literal {descr, fortran_order, shape} padded so
 * that the data starts on a 64-byte boundary, then the array in C order.
 *
 * Kept by hand: a push needs the header alone (the rows then stream past)
 * and writes one small header per row. The npm reader (npyjs 1.2.0) parses
 * only a whole file held in memory: on a 98 MiB float32 array it added
 * 199 MiB of resident memory where a push's streaming read through this
 * module added 54 MiB, code included.
 */
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

export interface NpyHeader {
  descr: string;
  shape: number[];
  itemSize: number;
  /** Offset of the data from the start of the file. */
  dataOffset: number;
}

/** Parses the header at the start of `head` (at least its first few KiB); `what` names the array in errors. */
export function parseNpyHeader(head: Uint8Array, what: string): NpyHeader {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const bad = (why: string) => new O3mlError("INVALID_ARGUMENT", `${what} is not a readable .npy array: ${why}`, { path: what });
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) throw bad("it does not start with the .npy magic bytes");
  const major = b[6]!;
  const lenBytes = major === 1 ? 2 : 4;
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = 8 + lenBytes;
  if (b.length < start + headerLen) throw bad("its header is cut short");
  const dict = b.toString(major >= 3 ? "utf8" : "latin1", start, start + headerLen);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(dict)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(dict)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw bad(`its header ${JSON.stringify(dict.trim())} has no plain descr, fortran_order and shape`);
  if (fortran === "True") throw bad("it is stored in Fortran order; save it with np.ascontiguousarray(a)");
  const m = /^([<>|=])([biufc])(\d+)$/.exec(descr);
  if (!m) throw bad(`its dtype ${descr} is not a plain number type (bool, int, uint, float, complex)`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((n) => !Number.isSafeInteger(n) || n < 0)) throw bad(`its shape (${shapeText}) is not a list of sizes`);
  return { descr, shape, itemSize: Number(m[3] || 1), dataOffset: start + headerLen };
}

/** A complete .npy file header for an array of `shape` and `descr` (version 1.0, as numpy writes it). */
export function npyHeader(descr: string, shape: number[]): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const total = 10 + dict.length + 1;
  dict += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const out = Buffer.alloc(10 + dict.length);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(dict.length, 8);
  out.write(dict, 10, "latin1");
  return out;
}

/** Reads integer labels of a 1-D array of a bool or integer dtype. */
export function readLabels(h: NpyHeader, data: Buffer, what: string): number[] {
  const [, order, type] = /^([<>|=])([biu])\d+$/.exec(h.descr) ?? [];
  if (!type || h.shape.length !== 1) {
    throw new O3mlError("INVALID_ARGUMENT", `${what} cannot be class labels: labels must be a 1-D array of integers, it has dtype ${h.descr} and shape (${h.shape.join(", ")})`);
  }
  const big = order === ">";
  const out: number[] = [];
  for (let i = 0, off = 0; i < h.shape[0]!; i++, off += h.itemSize) {
    if (h.itemSize === 1) out.push(type === "i" ? data.readInt8(off) : data.readUInt8(off));
    else if (h.itemSize === 2) out.push(type === "i" ? (big ? data.readInt16BE(off) : data.readInt16LE(off)) : big ? data.readUInt16BE(off) : data.readUInt16LE(off));
    else if (h.itemSize === 4) out.push(type === "i" ? (big ? data.readInt32BE(off) : data.readInt32LE(off)) : big ? data.readUInt32BE(off) : data.readUInt32LE(off));
    else out.push(Number(type === "i" ? (big ? data.readBigInt64BE(off) : data.readBigInt64LE(off)) : big ? data.readBigUInt64BE(off) : data.readBigUInt64LE(off)));
  }
  return out;
}
