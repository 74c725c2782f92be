import { O3mlError } from "@o3ml/errors";

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kib: 1024, kb: 1000, m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2, g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3 };

/** Parses an option such as "64MiB", "500MB" or "1048576" into bytes. */
export function parseSize(option: string, text: string, min: number, max: number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!(n >= min && n <= max)) {
    throw new O3mlError("INVALID_ARGUMENT", `${option} ${JSON.stringify(text)}: give a size from ${min} bytes to ${max / 1024 ** 3} GiB, such as 64MiB`, { option });
  }
  return n;
}

/** Bytes in binary units, as the CLI prints them: "512 B", "1.5 MiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
