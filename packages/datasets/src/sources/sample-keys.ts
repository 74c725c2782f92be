import { posix } from "node:path";

/**
 * WebDataset groups tar members into samples by key: everything before the
 * first '.' of the file name. A file's key is therefore its relative path
 * without the extension, with any other dots of its name turned into '_'
 * ("cat/img.001.png" → key "cat/img_001", extension "png"). Extensions are
 * lowercase (they are field names); a file without one gets "bin".
 */
export function keyAndExt(rel: string): { key: string; ext: string } {
  const dir = posix.dirname(rel);
  const name = posix.basename(rel);
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : "bin";
  const key = (dir === "." ? "" : `${dir}/`) + stem.replaceAll(".", "_");
  return { key, ext };
}

/** Keys of rows of a table or array: the row index, zero-padded so that key order is row order. */
export const rowKey = (i: number) => String(i).padStart(10, "0");
