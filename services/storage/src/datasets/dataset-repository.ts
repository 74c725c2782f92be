import { mapLimit, type BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import type { o3ml } from "@o3ml/proto";
import { monotonicFactory } from "ulidx";
import { blobKey, manifestKey, type BlobLease, type KnownBlobs, commitWithEvent } from "@o3ml/repository";
import type { ServiceMetadata } from "../metadata/service-metadata.js";
import { DatasetCatalog, type VersionInfo } from "./dataset-catalog.js";
import { deleteDatasetVersion } from "./dataset-deletion.js";
import { checkShards, datasetManifestCid, decodeDatasetManifest, encodeDatasetManifest, DATASET_MANIFEST_FORMAT } from "./dataset-manifest.js";
import { LATEST, parseDatasetSpec, validateDatasetName, validateVersion } from "./dataset-names.js";

type Manifest = o3ml.v1.DatasetManifest.$Properties;

/**
 * Dataset versions: shards (blobs, already stored through the BlobService),
 * then the manifest, then the `dataset.version.created` event, then the ref,
 * the commit point (commit-order.ts). A commit that fails before the ref leaves no version.
 */
export class DatasetRepository {
  readonly catalog: DatasetCatalog;
  private readonly ulid = monotonicFactory();
  /** Commits and deletions of one name run one at a time here, so a version name cannot be taken twice by this service. */
  private readonly commitQueue = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: BlobStore,
    private readonly metadata: ServiceMetadata,
    private readonly known: KnownBlobs,
  ) {
    this.catalog = new DatasetCatalog(store);
  }

  async commit(input: Manifest): Promise<VersionInfo> {
    const name = validateDatasetName(input.name);
    const version = input.version ? validateVersion(input.version) : this.ulid();
    if ((input.formatVersion ?? 0) > DATASET_MANIFEST_FORMAT) {
      throw new O3mlError("FAILED_PRECONDITION", `dataset ${name}: the manifest has format_version ${input.formatVersion}, this service writes ${DATASET_MANIFEST_FORMAT}; upgrade the service`);
    }
    const totals = checkShards(input);
    return this.queued(name, () => this.commitLocked(name, version, input, totals));
  }

  private async queued<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.commitQueue.get(name) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(fn);
    this.commitQueue.set(name, run);
    try {
      return await run;
    } finally {
      if (this.commitQueue.get(name) === run) this.commitQueue.delete(name);
    }
  }

  /**
   * Deletes name@version (dataset-deletion.ts); refused while a kept
   * checkpoint was trained on it, unless `force`. Runs in the name's commit
   * queue, so a commit deriving from the version cannot interleave with it.
   */
  async delete(name: string, version: string, force: boolean): Promise<VersionInfo> {
    validateDatasetName(name);
    if (!version) throw new O3mlError("INVALID_ARGUMENT", `name the version of dataset ${name} to delete: ${name}@<version> (see 'o3ml dataset show ${name}')`, { name });
    return this.queued(name, async () => {
      const info = await this.find(name, version);
      await deleteDatasetVersion(this.store, this.catalog, this.metadata, info, force);
      return info;
    });
  }

  /** "name", "name@latest", "name@version" (or "name@<manifest cid>"): the version's info and manifest. */
  async resolve(spec: string): Promise<{ info: VersionInfo; manifest: o3ml.v1.DatasetManifest }> {
    const { name, version } = parseDatasetSpec(spec);
    const info = await this.find(name, version);
    const manifest = decodeDatasetManifest(await this.catalog.readManifest(info.cid), info.cid);
    return { info, manifest };
  }

  async list(name: string): Promise<VersionInfo[]> {
    return name ? this.catalog.versions(validateDatasetName(name)) : this.catalog.all();
  }

  private async find(name: string, version: string): Promise<VersionInfo> {
    const versions = await this.catalog.versions(name);
    if (versions.length === 0) {
      const names = await this.catalog.names();
      const known = names.length ? `datasets in bucket ${this.store.bucket}: ${shortList(names)}` : `bucket ${this.store.bucket} has no datasets yet`;
      throw new O3mlError("NOT_FOUND", `no dataset ${name}; ${known}; push one with 'o3ml dataset push <path> --name ${name}'`, { name });
    }
    const found = version === LATEST ? versions[versions.length - 1] : versions.find((v) => v.version === version || v.cid === version);
    if (!found) {
      const latest = versions[versions.length - 1]!.version;
      throw new O3mlError(
        "NOT_FOUND",
        `dataset ${name} has no version ${version}; its versions, newest first, are ${shortList(versions.map((v) => v.version).reverse())} (latest: ${latest}); see 'o3ml dataset show ${name}'`,
        { name, version },
      );
    }
    return found;
  }

  private async commitLocked(name: string, version: string, input: Manifest, totals: { samples: number; bytes: number }): Promise<VersionInfo> {
    const versions = await this.catalog.versions(name);
    const taken = versions.find((v) => v.version === version);
    if (taken) {
      throw new O3mlError("ALREADY_EXISTS", `dataset ${name} already has version ${version} (manifest ${taken.cid}); pick another --version, or leave it out for a generated one`, {
        name,
        version,
      });
    }
    const parent = await this.parentOf(name, input.parentCid ?? "", versions);
    const lease = this.known.lease();
    try {
      await this.checkShardsStored(name, input, lease);
      return await this.write(name, version, input, totals, parent, lease);
    } finally {
      lease.release();
    }
  }

  private async write(name: string, version: string, input: Manifest, totals: { samples: number; bytes: number }, parent: VersionInfo | undefined, lease: BlobLease): Promise<VersionInfo> {
    const manifest: Manifest = {
      ...input,
      name,
      version,
      parentCid: parent?.cid ?? "",
      samples: totals.samples,
      bytes: totals.bytes,
      createdUnixMs: Number(input.createdUnixMs ?? 0) || Date.now(),
    };
    const bytes = encodeDatasetManifest(manifest);
    const cid = datasetManifestCid(bytes);
    lease.add(cid);
    if (!(await this.store.head(manifestKey(cid)))) await this.store.put(manifestKey(cid), bytes);
    lease.relied(manifestKey(cid));
    // The order of commit-order.ts: gc's check, the event, then the ref (the commit point), then the index.
    const what = `dataset ${name}@${version}`;
    await lease.confirm(what);
    await commitWithEvent(
      this.metadata,
      what,
      "dataset.version.created",
      (refId) => ({
        dataset: name,
        version,
        manifestCid: cid,
        parentVersion: parent?.version ?? null,
        parentManifestCid: parent?.cid ?? null,
        samples: totals.samples,
        bytes: totals.bytes,
        refId,
      }),
      (beforeRef) => this.catalog.refs.write(name, { manifestCid: cid, size: totals.bytes }, beforeRef),
    );
    const info: VersionInfo = {
      name,
      version,
      cid,
      parentCid: parent?.cid ?? "",
      samples: totals.samples,
      bytes: totals.bytes,
      shards: input.shards?.length ?? 0,
      createdUnixMs: Number(manifest.createdUnixMs),
    };
    this.catalog.remember(info);
    return info;
  }

  /** The version a new one derives from: the one named, else the latest of the name (none for a new name). */
  private async parentOf(name: string, parentCid: string, versions: VersionInfo[]): Promise<VersionInfo | undefined> {
    if (!parentCid) return versions[versions.length - 1];
    const own = versions.find((v) => v.cid === parentCid);
    if (own) return own;
    if (!(await this.store.head(manifestKey(parentCid)))) {
      throw new O3mlError("FAILED_PRECONDITION", `dataset ${name}: the parent manifest ${parentCid} is not stored in bucket ${this.store.bucket}; name an existing version as parent`, {
        name,
        cid: parentCid,
      });
    }
    return this.catalog.info(parentCid);
  }

  /** Every shard must be stored, with the size the manifest says, before any manifest names it. */
  private async checkShardsStored(name: string, m: Manifest, lease: BlobLease): Promise<void> {
    const shards = [...new Map((m.shards ?? []).map((s) => [s.cid!, Number(s.size)])).entries()];
    const problems = (
      await mapLimit(shards, 16, async ([cid, size]) => {
        lease.add(cid);
        lease.relied(blobKey(cid));
        const head = await this.store.head(blobKey(cid));
        if (!head) return `${cid} is not stored`;
        return head.size === size ? undefined : `${cid} is stored with ${head.size} bytes, the manifest says ${size}`;
      })
    ).filter((p): p is string => p !== undefined);
    if (problems.length > 0) {
      throw new O3mlError(
        "FAILED_PRECONDITION",
        `dataset ${name}: ${problems.length} shard(s) cannot be committed: ${shortList(problems, 3)}; upload every shard with BlobService.Put before committing; nothing was committed`,
        { name, shards: problems.length },
      );
    }
  }
}

function shortList(items: string[], max = 10): string {
  return items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}
