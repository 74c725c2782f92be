import { O3mlError } from "@o3ml/errors";
import { cidOf, isCid, verifyBlob } from "@o3ml/integrity";
import { o3ml } from "@o3ml/proto";

/**
 * Dataset manifests as stored at o3ml/v1/manifests/<cid>. The encoding is
 * canonical proto3 (fields in number order, default values left out, no
 * unknown fields), the same bytes Python's deterministic serialisation
 * writes, so one version always has one CID.
 */
export const DATASET_MANIFEST_FORMAT = 1;

type Manifest = o3ml.v1.DatasetManifest.$Properties;
const SPLIT = /^[A-Za-z0-9._-]{0,64}$/;
const MAX_KEY = 1024;

/** Totals a checked manifest adds up to. */
export interface ManifestTotals {
  samples: number;
  bytes: number;
}

/**
 * Checks what a client sent: every shard a valid CID with a size, samples
 * inside their shard, in order and not overlapping, keys unique across the
 * version. Throws INVALID_ARGUMENT naming the first problem.
 */
export function checkShards(m: Manifest): ManifestTotals {
  const shards = m.shards ?? [];
  if (shards.length === 0) throw bad("it lists no shards; push at least one sample");
  const keys = new Set<string>();
  let samples = 0;
  let bytes = 0;
  shards.forEach((s, i) => {
    const where = `shard ${i} (${s.cid || "no CID"})`;
    if (!isCid(s.cid ?? "")) throw bad(`${where} has an invalid CID`);
    const size = whole(s.size, `${where} size`);
    if (size < 1) throw bad(`${where} is empty`);
    if (!SPLIT.test(s.split ?? "")) throw bad(`${where} has an invalid split name ${JSON.stringify(s.split)}`);
    const list = s.samples ?? [];
    if (list.length === 0) throw bad(`${where} lists no samples`);
    let end = 0;
    for (const e of list) {
      const key = e.key ?? "";
      const off = whole(e.offset, `${where} sample ${key} offset`);
      const len = whole(e.size, `${where} sample ${key} size`);
      if (key === "" || key.length > MAX_KEY || /[\u0000-\u001f]/.test(key)) throw bad(`${where} has a sample with an invalid key ${JSON.stringify(key)}`);
      if (off < end || off + len > size) throw bad(`${where} sample ${key} at [${off}, ${off + len}) overlaps the previous sample or runs past the shard's ${size} bytes`);
      if (e.sha256 && e.sha256.length !== 0 && e.sha256.length !== 32) throw bad(`${where} sample ${key} has a sha256 of ${e.sha256.length} bytes, not 32`);
      if (keys.has(key)) throw bad(`sample key ${key} appears twice; keys must be unique within a version`);
      keys.add(key);
      end = off + len;
    }
    samples += list.length;
    bytes += size;
  });
  return { samples, bytes };
}

/** The canonical encoding of `m`; only the fields of the format are kept. */
export function encodeDatasetManifest(m: Manifest): Uint8Array {
  const schema = m.schema ?? {};
  return o3ml.v1.DatasetManifest.encode(
    o3ml.v1.DatasetManifest.create(
      compact({
        formatVersion: DATASET_MANIFEST_FORMAT,
        name: m.name,
        version: m.version,
        parentCid: m.parentCid,
        shards: (m.shards ?? []).map((s) =>
          compact({
            cid: s.cid,
            size: s.size,
            split: s.split,
            samples: (s.samples ?? []).map((e) => compact({ key: e.key, offset: e.offset, size: e.size, sha256: e.sha256 })),
          }),
        ),
        schema: compact({ sourceKind: schema.sourceKind, fields: schema.fields, classes: schema.classes, columns: schema.columns }),
        samples: m.samples,
        bytes: m.bytes,
        createdUnixMs: m.createdUnixMs,
        splitSeed: m.splitSeed,
        shuffled: m.shuffled,
        shuffleSeed: m.shuffleSeed,
      }),
    ),
  ).finish();
}

export const datasetManifestCid = (bytes: Uint8Array) => cidOf(bytes);

/** Verifies stored bytes against the CID they were read under, then decodes them. */
export function decodeDatasetManifest(bytes: Uint8Array, cid: string): o3ml.v1.DatasetManifest {
  verifyBlob(cid, bytes, { what: "dataset manifest" });
  let m: o3ml.v1.DatasetManifest;
  try {
    m = o3ml.v1.DatasetManifest.decode(bytes);
  } catch (err) {
    throw new O3mlError("INTEGRITY", `dataset manifest ${cid} does not decode (${(err as Error).message}); it was not written by o3ml`, { cid }, { cause: err });
  }
  if (m.formatVersion === 0 || m.formatVersion > DATASET_MANIFEST_FORMAT) {
    throw new O3mlError(
      "FAILED_PRECONDITION",
      `dataset manifest ${cid} has format_version ${m.formatVersion}; this o3ml reads 1 to ${DATASET_MANIFEST_FORMAT}: upgrade o3ml`,
      { cid, formatVersion: m.formatVersion },
    );
  }
  return m;
}

/** Drops undefined, empty and zero values: proto3 leaves defaults out of the canonical bytes. */
function compact<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null || v === "" || v === 0 || v === false) continue;
    if ((Array.isArray(v) || v instanceof Uint8Array) && v.length === 0) continue;
    if (v.constructor === Object && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as T;
}

function whole(v: unknown, what: string): number {
  const n = Number(v ?? 0);
  if (!Number.isSafeInteger(n) || n < 0) throw bad(`${what} is not a whole number of bytes`);
  return n;
}

function bad(why: string): O3mlError {
  return new O3mlError("INVALID_ARGUMENT", `invalid dataset manifest: ${why}`);
}
