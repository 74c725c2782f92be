import { O3mlError } from "@o3ml/errors";

/** Default cap of the cache: 20 GiB. */
export const DEFAULT_CACHE_BYTES = 20 * 1024 ** 3;

const UNITS: Record<string, number> = {
  "": 1, b: 1,
  k: 1024, kb: 1000, kib: 1024,
  m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1000 ** 4, tib: 1024 ** 4,
};

/** Parses "20GiB", "512MB", "1.5g" or a plain byte count; undefined when it is not one. */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The cache cap from O3ML_CACHE_BYTES (default 20 GiB); INVALID_ARGUMENT naming the variable when it is unreadable. */
export function cacheBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.O3ML_CACHE_BYTES;
  if (raw === undefined || raw.trim() === "") return DEFAULT_CACHE_BYTES;
  const n = parseByteSize(raw);
  if (n === undefined) {
    throw new O3mlError("INVALID_ARGUMENT", `O3ML_CACHE_BYTES=${JSON.stringify(raw)} is not a size; give bytes or a size such as 20GiB or 500MB`, {
      variable: "O3ML_CACHE_BYTES",
    });
  }
  return n;
}
