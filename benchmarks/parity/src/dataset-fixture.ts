/**
 * The one set of samples every dataset path reads, o3ml and peers alike: an
 * ImageFolder-shaped tree `train/c<k>/<i>.bin` of seeded pseudo-random bytes
 * (incompressible, so no store or codec gets an easy ride).
 */
import { createCipheriv, createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DatasetFixture {
  dir: string;
  samples: number;
  sampleBytes: number;
  totalBytes: number;
}

/** Deterministic, incompressible bytes: AES-128-CTR keystream keyed by the seed's hash. */
function seeded(seed: string, size: number): Buffer {
  const key = createHash("sha256").update(seed).digest();
  return createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32)).update(Buffer.alloc(size));
}

export function makeDatasetFixture(samples: number, sampleBytes: number, classes = 4): DatasetFixture {
  const dir = mkdtempSync(join(tmpdir(), "o3ml-parity-data-"));
  for (let i = 0; i < samples; i++) {
    const folder = join(dir, "train", `c${i % classes}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${String(i).padStart(6, "0")}.bin`), seeded(`sample-${i}`, sampleBytes));
  }
  return { dir, samples, sampleBytes, totalBytes: samples * sampleBytes };
}
