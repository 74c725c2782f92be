import { mapLimit, type BlobStore } from "@o3ml/o3-client";
import { isO3mlError, O3mlError } from "@o3ml/errors";
import { DATASET_REF_KIND, manifestKey, parseRefKey, refPrefix, refsRoot, RefStore, type RefRecord } from "@o3ml/repository";
import { decodeDatasetManifest } from "./dataset-manifest.js";

/** What DatasetVersionInfo says about one version. */
export interface VersionInfo {
  name: string;
  version: string;
  cid: string;
  parentCid: string;
  samples: number;
  bytes: number;
  shards: number;
  createdUnixMs: number;
}

/**
 * The versions of datasets, read from their refs in the bucket (the record
 * of truth, so any number of services agree). Refs and manifests are
 * immutable, so what was read once is remembered for good: listing a name
 * costs one LIST plus reads of the refs and manifests not seen before.
 */
export class DatasetCatalog {
  readonly refs: RefStore;
  private readonly refByKey = new Map<string, RefRecord>();
  private readonly infoByCid = new Map<string, VersionInfo>();

  constructor(private readonly store: BlobStore) {
    this.refs = new RefStore(store, DATASET_REF_KIND);
  }

  /** Versions of `name`, oldest first; the last one is "latest". Empty when the name has none. */
  async versions(name: string): Promise<VersionInfo[]> {
    const keys: string[] = [];
    for await (const o of this.store.list(refPrefix(DATASET_REF_KIND, name))) keys.push(o.key);
    return this.infos(keys);
  }

  /** Every version of every dataset, by name then age. */
  async all(): Promise<VersionInfo[]> {
    const keys: string[] = [];
    for await (const o of this.store.list(refsRoot(DATASET_REF_KIND))) if (parseRefKey(DATASET_REF_KIND, o.key)) keys.push(o.key);
    return this.infos(keys);
  }

  /** Names that have at least one version (for "not found" messages). */
  async names(): Promise<string[]> {
    return [...new Set((await this.all()).map((v) => v.name))];
  }

  /** The info of the version stored under manifest `cid` (read and verified once). */
  async info(cid: string): Promise<VersionInfo> {
    const hit = this.infoByCid.get(cid);
    if (hit) return hit;
    const m = decodeDatasetManifest(await this.readManifest(cid), cid);
    const info: VersionInfo = {
      name: m.name,
      version: m.version,
      cid,
      parentCid: m.parentCid,
      samples: Number(m.samples),
      bytes: Number(m.bytes),
      shards: m.shards.length,
      createdUnixMs: Number(m.createdUnixMs),
    };
    this.infoByCid.set(cid, info);
    return info;
  }

  /** The key of the ref that names manifest `cid` as a version of `name`, if one does. */
  async refKeyOf(name: string, cid: string): Promise<string | undefined> {
    for await (const o of this.store.list(refPrefix(DATASET_REF_KIND, name))) {
      const ref = await this.ref(o.key);
      if (ref && !ref.deleted && ref.manifestCid === cid) return o.key;
    }
    return undefined;
  }

  /** The ref at `key`; undefined when it was listed, then removed by `o3ml dataset rm` (dataset-deletion.ts) before it was read. */
  private async ref(key: string): Promise<RefRecord | undefined> {
    const known = this.refByKey.get(key);
    if (known) return known;
    try {
      const ref = await this.refs.read(key);
      this.refByKey.set(key, ref);
      return ref;
    } catch (err) {
      if (isO3mlError(err, "NOT_FOUND")) return undefined;
      throw err;
    }
  }

  remember(info: VersionInfo): void {
    this.infoByCid.set(info.cid, info);
  }

  /** The bytes of manifest `cid`; INTEGRITY when a ref names a manifest that is gone. */
  async readManifest(cid: string): Promise<Uint8Array> {
    try {
      return await this.store.get(manifestKey(cid));
    } catch (err) {
      if (err instanceof O3mlError && err.code === "NOT_FOUND") {
        throw new O3mlError("INTEGRITY", `dataset manifest ${cid} is missing from bucket ${this.store.bucket} though a ref names it; restore it from another copy`, { cid }, { cause: err });
      }
      throw err;
    }
  }

  private async infos(refKeys: string[]): Promise<VersionInfo[]> {
    const out = await mapLimit(refKeys, 16, async (key) => {
      const ref = await this.ref(key);
      return !ref || ref.deleted ? undefined : this.info(ref.manifestCid);
    });
    return out.filter((i): i is VersionInfo => i !== undefined);
  }
}
