import { O3mlError } from "@o3ml/errors";

/**
 * POSIX ustar headers, written deterministically (mode 0644, owner 0:0,
 * mtime 0, no user or group names) so the same samples always make the same
 * shard bytes and therefore the same CID. Readable by `tar`, Python's
 * tarfile and WebDataset.
 */
export const BLOCK = 512;
/** Two zero blocks end an archive. */
export const TAR_END = new Uint8Array(2 * BLOCK);
/** ustar stores sizes as 11 octal digits. */
const MAX_MEMBER = 8 ** 11 - 1;

/** Zero bytes that bring a member of `size` bytes to a whole block. */
export const paddingOf = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

/** Bytes a member takes in the archive: header, content, padding. */
export const memberLength = (size: number) => BLOCK + size + paddingOf(size);

/** The 512-byte header of a regular file `name` of `size` bytes. */
export function tarHeader(name: string, size: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_MEMBER) {
    throw new O3mlError("INVALID_ARGUMENT", `${name}: ${size} bytes is more than a tar member can hold (8 GiB); split the file`, { name });
  }
  const [prefix, base] = splitName(name);
  const h = Buffer.alloc(BLOCK);
  h.write(base, 0, 100, "utf8");
  h.write("0000644\0", 100, "ascii");
  h.write("0000000\0", 108, "ascii");
  h.write("0000000\0", 116, "ascii");
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "ascii");
  h.write("00000000000\0", 136, "ascii");
  h.write("        ", 148, "ascii"); // checksum field counts as spaces while summing
  h.write("0", 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** Reads the member name of a ustar header (prefix/name), for checks. */
export function headerName(h: Uint8Array): string {
  const field = (from: number, len: number) => {
    const b = Buffer.from(h.buffer, h.byteOffset + from, len);
    const end = b.indexOf(0);
    return b.subarray(0, end === -1 ? len : end).toString("utf8");
  };
  const prefix = field(345, 155);
  return prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
}

/** ustar keeps up to 100 bytes of name plus a 155-byte directory prefix, split at a '/'. */
function splitName(name: string): [string, string] {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 100) return ["", name];
  for (let i = name.indexOf("/"); i !== -1; i = name.indexOf("/", i + 1)) {
    const prefix = name.slice(0, i);
    const base = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100 && base.length > 0) return [prefix, base];
  }
  throw new O3mlError("INVALID_ARGUMENT", `the path ${name} is too long for a tar member (at most 100 bytes of file name and 155 of directories); shorten it`, {
    name,
  });
}
