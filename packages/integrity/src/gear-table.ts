/**
 * The gear table of content-defined chunking: 256 pseudo-random 32-bit words,
 * one per byte value, generated at module load from a fixed seed.
 *
 * The seed and generator are frozen. Changing either moves every chunk
 * boundary: stored data stays readable (manifests list their chunks
 * explicitly), but nothing written before would deduplicate against anything
 * written after. A test pins the table's fingerprint.
 */

/** Seed of the gear table ("o3ml" in ASCII). Never change it. */
export const GEAR_SEED = 0x6f336d6c;

/** mulberry32: a small, well-mixed 32-bit PRNG; ample for a hash table's constants. */
function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) | 0;
  };
}

function makeGearTable(seed: number): Int32Array {
  const next = mulberry32(seed);
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = next();
  return table;
}

/** GEAR[b] is added to the rolling hash for each input byte b. Int32 keeps the hot loop in small integers. */
export const GEAR: Int32Array = makeGearTable(GEAR_SEED);
