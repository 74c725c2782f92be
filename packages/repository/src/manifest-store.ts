import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError, isO3mlError } from "@o3ml/errors";
import { decodeObjectManifest, manifestCid, type ObjectManifest } from "@o3ml/integrity";
import type { BlobLease, KnownBlobs } from "./known-blobs.js";
import { manifestKey } from "./layout.js";

/** How many stored manifests are remembered for skipping their next write. */
const STORED_MAX = 100_000;

/** Decoded manifests kept in memory, by their encoded size (checkpoint tables can be large). */
const CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Object manifests at o3ml/v1/manifests/<cid>, shared by objects and
 * checkpoints. A manifest is named by its CID and never changes, so a decoded
 * one may be remembered; only `o3ml gc` removes one, and it calls `forget`.
 */
export class ManifestStore {
  private readonly cache = new Map<string, { manifest: ObjectManifest; bytes: number }>();
  private cachedBytes = 0;
  private readonly writing = new Map<string, Promise<boolean>>();
  /** Manifests this service stored, by CID, with the gc-epoch generation they were stored in. */
  private readonly stored = new Map<string, number>();

  constructor(
    private readonly store: BlobStore,
    private readonly known: KnownBlobs,
  ) {}

  /**
   * Stores encoded manifest bytes under their CID unless they are there
   * already: one conditional PUT (If-None-Match: *; HEAD, then PUT where the
   * store does not enforce it). The CID is leased first, so gc keeps it until
   * the commit ends. The decoded manifest is remembered, so the reads that
   * usually follow a write need no request. Returns the CID and the bytes
   * uploaded (0 when it was already stored).
   */
  async write(bytes: Uint8Array, lease?: BlobLease): Promise<{ cid: string; uploaded: number }> {
    const cid = manifestCid(bytes);
    lease?.add(cid);
    await this.known.deletion(cid);
    // One this service stored in the current gc epoch is there unless this service's gc removed
    // it (which forgets it); a gc elsewhere starts a new epoch, and then it is written again.
    const generation = await this.known.currentGeneration();
    if (this.stored.get(cid) === generation) {
      lease?.relied(manifestKey(cid));
      return { cid, uploaded: 0 };
    }
    // Many puts of one manifest at once (equal small objects) share one request: a burst of
    // conditional PUTs of one key would queue on the store's lock for that key.
    let pending = this.writing.get(cid);
    const mine = pending === undefined;
    if (!pending) {
      pending = this.putOnce(cid, bytes, generation);
      this.writing.set(cid, pending);
    }
    // Only the write that sent the bytes uploaded them; the others rely on them being there.
    const uploaded = (await pending) && mine;
    lease?.relied(manifestKey(cid));
    return { cid, uploaded: uploaded ? bytes.byteLength : 0 };
  }

  /** One conditional PUT of a manifest; true when it uploaded the bytes, false when they were there. */
  private async putOnce(cid: string, bytes: Uint8Array, generation: number): Promise<boolean> {
    try {
      let uploaded = true;
      try {
        await this.store.put(manifestKey(cid), bytes, { ifAbsent: true });
      } catch (err) {
        if (!isO3mlError(err, "ALREADY_EXISTS")) throw err;
        uploaded = false;
      }
      this.remember(cid, decodeObjectManifest(bytes, cid), bytes.byteLength);
      this.stored.set(cid, generation);
      if (this.stored.size > STORED_MAX) this.stored.delete(this.stored.keys().next().value!);
      return uploaded;
    } finally {
      this.writing.delete(cid);
    }
  }

  /**
   * Reads and verifies manifest `cid`. `key` is the object whose ref named
   * it: then a missing manifest is damage (INTEGRITY); without a key the
   * caller asked for the CID itself, and a missing one is NOT_FOUND.
   * `fromStore` skips the memory of decoded manifests and re-reads (and
   * re-hashes) the bucket's copy: a check must not trust what it read before.
   */
  async read(cid: string, key?: string, opts: { fromStore?: boolean } = {}): Promise<ObjectManifest> {
    if (opts.fromStore) this.forget(cid);
    const hit = this.cache.get(cid);
    if (hit) {
      // Re-inserted so the map's order stays least-recently-used first.
      this.cache.delete(cid);
      this.cache.set(cid, hit);
      return hit.manifest;
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.store.get(manifestKey(cid));
    } catch (err) {
      if (err instanceof O3mlError && err.code === "NOT_FOUND") {
        throw key === undefined
          ? new O3mlError("NOT_FOUND", `no manifest ${cid} in bucket ${this.store.bucket}; check the CID (e.g. with 'o3ml ckpt ls')`, { cid }, { cause: err })
          : new O3mlError("INTEGRITY", `object ${key}: its manifest ${cid} is missing from the bucket; the object cannot be read`, { key, cid }, { cause: err });
      }
      throw err;
    }
    const manifest = decodeObjectManifest(bytes, cid);
    this.remember(cid, manifest, bytes.byteLength);
    return manifest;
  }

  forget(cid: string): void {
    this.stored.delete(cid);
    const hit = this.cache.get(cid);
    if (!hit) return;
    this.cache.delete(cid);
    this.cachedBytes -= hit.bytes;
  }

  private remember(cid: string, manifest: ObjectManifest, bytes: number): void {
    if (bytes > CACHE_BYTES / 4) return;
    this.forget(cid);
    this.cache.set(cid, { manifest, bytes });
    this.cachedBytes += bytes;
    for (const [old] of this.cache) {
      if (this.cachedBytes <= CACHE_BYTES) break;
      this.forget(old);
    }
  }
}
