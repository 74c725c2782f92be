import { O3mlError } from "@o3ml/errors";

/*
 * How a local directory store (local-dir-store.ts) lays keys out as files.
 * Each "/"-separated segment of a key is one path component, so a bucket
 * reads like the keys it holds. Keys "a" and "a/b" may both exist, so an
 * object's file carries the suffix "%o", which no encoded segment can end
 * in ("%" is always followed by two hex digits there), and never clashes
 * with the directory of the same segment. Names starting with "." never
 * come from a key: they are left to temporary files.
 */

const OBJECT_SUFFIX = "%o";
/** The longest file name common file systems accept, in bytes. */
const NAME_MAX = 255;

/** One key segment as a file name stem: bytes outside [A-Za-z0-9_.-], and a leading ".", as %XX; the empty segment as "%". */
function encodeSegment(segment: string, key: string): string {
  if (segment === "") return "%";
  let out = "";
  for (const byte of Buffer.from(segment, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.-]/.test(c) && !(c === "." && out === "") ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  if (out.length + OBJECT_SUFFIX.length > NAME_MAX) {
    throw new O3mlError("INVALID_ARGUMENT", `key segment of ${out.length} encoded bytes is longer than a local directory store can name a file: ${JSON.stringify(key.slice(0, 80))}`, { key });
  }
  return out;
}

function decodeSegment(name: string): string {
  return name === "%" ? "" : Buffer.from(name.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1").toString("utf8");
}

/** The relative path of the key's file: encoded directories, then the encoded last segment with the object suffix. */
export function keyToPath(key: string): string[] {
  const segments = key.split("/").map((s) => encodeSegment(s, key));
  segments[segments.length - 1] += OBJECT_SUFFIX;
  return segments;
}

/** The encoded directories every key starting with `prefix` lies under (the prefix's complete segments). */
export function prefixDirs(prefix: string): string[] {
  return prefix.split("/").slice(0, -1).map((s) => encodeSegment(s, prefix));
}

export function isObjectName(name: string): boolean {
  return name.endsWith(OBJECT_SUFFIX) && !name.startsWith(".");
}

export function isKeyDirName(name: string): boolean {
  return !name.startsWith(".") && !name.endsWith(OBJECT_SUFFIX);
}

/** The key of a file, from the directory names above it (within the bucket) and its own name. */
export function pathToKey(dirs: string[], fileName: string): string {
  return [...dirs, fileName.slice(0, -OBJECT_SUFFIX.length)].map(decodeSegment).join("/");
}

/** S3 order: keys compared by their UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
