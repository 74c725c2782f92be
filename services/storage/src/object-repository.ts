import type { FileHandle } from "node:fs/promises";
import { mapLimit, type BlobStore } from "@o3ml/o3-client";
import { O3mlError, isO3mlError } from "@o3ml/errors";
import { cidOf, createSha256, encodeObjectManifest, digestOfCid, fixedChunker, hasPacks, type ObjectManifest } from "@o3ml/integrity";
import { BlobWriter, readChunks, type ChunkBudget, type ChunkSpan, type BlobLease, type KnownBlobs, blobKey, manifestKey, validateObjectKey, validatePrefix, ManifestStore, RefStore, type RefRecord } from "@o3ml/repository";
import { objectSpans, type CheckpointManifest } from "./checkpoints/checkpoint-info.js";
import { archiveSize } from "./checkpoints/torch-archive.js";
import type { HashPool } from "./colocation/hash-pool.js";
import type { Host } from "./colocation/host.js";
import { INLINE_BYTES, locatedBlobs, type LocatedBlob } from "./colocation/located-blobs.js";
import { cutsOf, writeStagedBlobs, type KeepBlob } from "./colocation/staged-blobs.js";
import { KeyLocks } from "./key-locks.js";
import type { Logger } from "./logger.js";

export interface ObjectInfo {
  key: string;
  size: number;
  cid: string;
  createdUnixMs: number;
  chunkCount: number;
  contentType: string;
  labels: Record<string, string>;
  sha256: string;
  /** Listing only: what is wrong with a damaged object (its manifest cannot be read). */
  problem?: string;
  /** For a torch checkpoint: the size of its torch archive view (ReadArchive); 0 for any other object. */
  archiveSize: number;
}

/** About how many bytes of entries one List page carries (labels and content types included). */
export const LIST_PAGE_BYTES = 1024 * 1024;

/** A generous estimate of an entry's encoded size: its strings plus fixed fields. */
function entryBytes(i: ObjectInfo): number {
  let n = 64 + Buffer.byteLength(i.key) + i.cid.length + i.sha256.length + Buffer.byteLength(i.contentType) + Buffer.byteLength(i.problem ?? "");
  for (const [k, v] of Object.entries(i.labels)) n += 8 + Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

export interface PutHeader {
  key: string;
  contentType?: string;
  labels?: Record<string, string>;
  expectedSize?: number;
  /** Create only: ALREADY_EXISTS when the key has a live value (see `commit`). */
  ifAbsent?: boolean;
}

export interface PutResult {
  info: ObjectInfo;
  bytesUploaded: number;
  bytesDeduplicated: number;
}

export interface RepositoryOptions {
  chunkSize: number;
  concurrency: number;
  readPrefetch: number;
}

/**
 * Writes a key's tombstone, running `beforeRef` with its sortable id right
 * before it (a deletion's event: commit-order.ts).
 */
export type WriteTombstone = (beforeRef?: (refId: string) => Promise<void>) => Promise<RefRecord>;

/**
 * Told when a key's value stops being `previous`: "deleted" under the key's
 * lock, before its tombstone (a failure aborts the delete); a listener that
 * records the deletion writes the tombstone itself through `writeTombstone`,
 * after its event, and otherwise the repository writes it. "replaced" after a
 * new ref names another manifest (the listener handles its own failures: the
 * new value is committed already).
 */
export type SupersededListener = (key: string, previous: RefRecord, how: "deleted" | "replaced", writeTombstone?: WriteTombstone) => Promise<void>;

/**
 * Named objects as content-addressed blobs + manifest + ref (docs/architecture.md, Commit protocol).
 * Commit order (commit-order.ts; a put has no event): every blob, then the manifest, then the ref. A put that does
 * not reach its end writes no ref, so no reader ever sees a partial object;
 * what it uploaded is garbage for `o3ml gc`.
 */
export class ObjectRepository {
  readonly refs: RefStore;
  readonly manifests: ManifestStore;
  private readonly listeners: SupersededListener[] = [];
  /** Every ref this service writes for a key is written under that key's lock (see `commit`). */
  private readonly locks = new KeyLocks();

  constructor(
    private readonly store: BlobStore,
    private readonly known: KnownBlobs,
    private readonly opts: RepositoryOptions,
    private readonly log?: Logger,
    /** The service's bound on chunks held in memory by uploads (colocation/chunk-buffers.ts). */
    private readonly chunks?: ChunkBudget,
  ) {
    this.refs = new RefStore(store, "objects");
    this.manifests = new ManifestStore(store, known);
  }

  onSuperseded(listener: SupersededListener): void {
    this.listeners.push(listener);
  }

  /**
   * Streams `data` into blobs. `complete()` is asked after the data ends and
   * must say whether the stream really finished (not cancelled) and return
   * the client's whole-object sha256 if it sent one.
   */
  async put(header: PutHeader, data: AsyncIterable<Uint8Array>, complete: () => { sha256?: string }): Promise<PutResult> {
    const key = validateObjectKey(header.key);
    // A create-only put fails before a byte is stored when it can; commit checks again.
    if (header.ifAbsent) await this.refuseLive(key, await this.refs.latest(key), `put ${key}`);
    const previous = this.previous(key);
    const chunker = fixedChunker(this.opts.chunkSize);
    const lease = this.known.lease();
    const writer = new BlobWriter(this.store, this.known, this.opts.concurrency, lease, this.chunks);
    // An object declared to fit one chunk is hashed once: its chunk's CID digest is its sha2-256.
    const hash = header.expectedSize !== undefined && header.expectedSize <= this.opts.chunkSize ? undefined : createSha256();
    const chunks: { cid: string; size: number }[] = [];
    let size = 0;
    const emit = async (chunk: Uint8Array) => {
      const cid = cidOf(chunk);
      chunks.push({ cid, size: chunk.byteLength });
      await writer.write(cid, chunk);
    };
    try {
      for await (const piece of data) {
        size += piece.byteLength;
        if (header.expectedSize !== undefined && size > header.expectedSize) {
          throw new O3mlError("INVALID_ARGUMENT", `put ${key}: more bytes than the declared size ${header.expectedSize}`, { key });
        }
        hash?.update(piece);
        for (const c of chunker.push(piece)) await emit(c);
      }
      const { sha256: claimed } = complete();
      for (const c of chunker.finish()) await emit(c);
      return await this.finishPut(key, header, { size, chunks, sha256: hash ? hash.digestHex() : soleChunkSha256(chunks), claimed }, writer, lease, previous);
    } catch (err) {
      await writer.settle();
      throw err;
    } finally {
      lease.release();
    }
  }

  /**
   * A co-located put: the whole object is in `file` (staged by a client on
   * this host). The same blobs as a streamed put, read and hashed on the
   * pool's threads; the same commit. `complete` is asked once the client's
   * stream ended, as for `put`.
   */
  async putStaged(header: PutHeader, file: FileHandle, hashes: HashPool, complete: () => Promise<{ sha256?: string }>, keep?: KeepBlob): Promise<PutResult> {
    const key = validateObjectKey(header.key);
    if (header.ifAbsent) await this.refuseLive(key, await this.refs.latest(key), `put ${key}`);
    const previous = this.previous(key);
    const lease = this.known.lease();
    const writer = new BlobWriter(this.store, this.known, this.opts.concurrency, lease, this.chunks);
    try {
      const { claimed, size } = await complete().then(async (c) => ({ claimed: c.sha256, size: (await file.stat()).size }));
      if (header.expectedSize !== undefined && size !== header.expectedSize) {
        throw new O3mlError("INVALID_ARGUMENT", `put ${key}: the staged file holds ${size} bytes, the header declares ${header.expectedSize}; nothing was committed`, { key });
      }
      const cuts = cutsOf(0, size, this.opts.chunkSize);
      // One chunk: the file is read and hashed once, its CID's digest being the object's sha2-256.
      const sole = cuts.length <= 1;
      const staged = await writeStagedBlobs(file, cuts, sole ? [] : [[0, size]], hashes, writer, this.opts.concurrency, `put ${key}`, !sole, keep);
      const chunks = cuts.map((c, i) => ({ cid: staged.cids[i]!, size: c.length }));
      const sha256 = sole ? soleChunkSha256(chunks) : Buffer.from(staged.sha256!).toString("hex");
      return await this.finishPut(key, header, { size, chunks, sha256, claimed }, writer, lease, previous);
    } catch (err) {
      await writer.settle();
      throw err;
    } finally {
      lease.release();
    }
  }

  /**
   * A co-located get of the whole object: its info, then its blobs in order
   * as verified host-cache files (small ones as bytes), `concurrency` ahead.
   */
  async locate(key: string, host: Host): Promise<{ info: ObjectInfo; blobs: AsyncGenerator<LocatedBlob> }> {
    const { ref, manifest } = await this.resolve(validateObjectKey(key), {});
    const info = toInfo(key, ref, manifest);
    if (packed(manifest)) {
      // No file holds a packed checkpoint's bytes in order: they come as verified bytes instead.
      return { info, blobs: piecesOf(readChunks(this.store, objectRange(manifest, 0, info.size), this.opts.readPrefetch, { key })) };
    }
    const chunks = manifest.chunks;
    return { info, blobs: locatedBlobs(host, this.store, chunks, (i) => chunks[i]!.size <= INLINE_BYTES, this.opts.concurrency, key, `get ${key}`) };
  }

  /** The end of every put: checks, then the manifest beside the last blobs, then the commit. */
  private async finishPut(
    key: string,
    header: PutHeader,
    body: { size: number; chunks: { cid: string; size: number }[]; sha256: string; claimed?: string },
    writer: BlobWriter,
    lease: BlobLease,
    previous: Promise<RefRecord | undefined>,
  ): Promise<PutResult> {
    const { size, chunks, sha256, claimed } = body;
    if (header.expectedSize !== undefined && size !== header.expectedSize) {
      throw new O3mlError("ABORTED", `put ${key}: the stream ended after ${size} of ${header.expectedSize} declared bytes; nothing was committed`, { key });
    }
    if (claimed && claimed.toLowerCase() !== sha256) {
      throw new O3mlError("INTEGRITY", `put ${key}: the bytes received hash to sha256 ${sha256}, the client sent ${claimed}; nothing was committed — retry the upload`, { key });
    }
    const manifest = encodeObjectManifest({
      size,
      chunks,
      contentType: header.contentType ?? "",
      sha256: Buffer.from(sha256, "hex"),
      labels: header.labels ?? {},
    });
    // The manifest goes up beside the last blobs, not after them: only the ref makes
    // anything visible, and it waits for both (docs/architecture.md, commit protocol).
    // gc's check of the commit reads the bucket beside them too (BlobLease.readAhead).
    lease.readAhead();
    const [stored] = await Promise.all([this.manifests.write(manifest, lease), writer.flush()]);
    writer.bytesUploaded += stored.uploaded;
    const ref = await this.commit(key, stored.cid, size, await previous, lease, `put ${key}`, { ifAbsent: header.ifAbsent });
    return {
      info: toInfo(key, ref, { chunks, contentType: header.contentType ?? "", labels: header.labels ?? {}, sha256: Buffer.from(sha256, "hex") }),
      bytesUploaded: writer.bytesUploaded,
      bytesDeduplicated: writer.bytesDeduplicated,
    };
  }

  /**
   * The last step of every commit: confirms, under the key's lock, that
   * nothing the commit counts on was collected meanwhile or is condemned by a
   * collection in progress (`lease.confirm`, `what` names the operation in its
   * error), writes the ref naming `manifestCid`, then tells the listeners
   * which value it replaced. `previous` is the key's ref before this commit
   * (from `previous(key)`), when listeners need it. `beforeRef` (a
   * checkpoint's event, commit-order.ts) runs inside the lock with the new
   * ref's sortable id, after the confirmation and before the ref.
   *
   * `ifAbsent` commits only when the key has no live value (ALREADY_EXISTS
   * otherwise). Every ref write and deletion of a key in this service runs
   * under the key's lock, so the check and the write are atomic against any
   * other commit of the key through this service. Across services nothing
   * makes them atomic: S3 has no conditional write over a key prefix, and each
   * ref has a key of its own, so two services may both find the key absent
   * and both commit; the later ref (sortable id) is then the value.
   */
  async commit(
    key: string,
    manifestCid: string,
    size: number,
    previous: RefRecord | undefined,
    lease: BlobLease,
    what: string,
    opts: { ifAbsent?: boolean; beforeRef?: (refId: string) => Promise<void> } = {},
  ): Promise<RefRecord> {
    const ref = await this.locks.run(key, async () => {
      if (opts.ifAbsent) await this.refuseLive(key, await this.refs.latest(key), what);
      // Last before the ref, inside the lock: a gc's fence covers only the time from here to the ref.
      await lease.confirm(what);
      return this.refs.write(key, { manifestCid, size }, opts.beforeRef);
    });
    if (previous && !previous.deleted && previous.manifestCid !== manifestCid) {
      for (const l of this.listeners) await l(key, previous, "replaced");
    }
    return ref;
  }

  /**
   * Gives `destination` the value `source` has now: a new ref naming the same
   * manifest, committed through `commit` (listeners and the gc-epoch check
   * apply). No blob is read or written. The commit relies on the source's
   * manifest and blobs staying stored, so it leases them (a collection in this
   * service keeps them) and names them to `confirm` (checked again should a
   * collection in any service have begun meanwhile).
   */
  async copy(source: string, destination: string): Promise<ObjectInfo> {
    const from = validateObjectKey(source);
    const to = validateObjectKey(destination);
    const lease = this.known.lease();
    try {
      const previous = this.previous(to);
      const { ref, manifest } = await this.resolve(from);
      if (from === to) return toInfo(to, ref, manifest);
      lease.add(ref.manifestCid);
      lease.relied(manifestKey(ref.manifestCid));
      for (const c of manifest.chunks) {
        lease.add(c.cid);
        lease.relied(blobKey(c.cid));
      }
      const copied = await this.commit(to, ref.manifestCid, Number(ref.size), await previous, lease, `copy ${from} to ${to}`);
      return toInfo(to, copied, manifest);
    } finally {
      lease.release();
    }
  }

  /** The key's current ref, looked up only when a listener will want it (one LIST). */
  previous(key: string): Promise<RefRecord | undefined> {
    if (this.listeners.length === 0) return Promise.resolve(undefined);
    const p = this.refs.latest(key);
    p.catch(() => {}); // awaited, and surfaced, at commit time
    return p;
  }

  async stat(key: string): Promise<ObjectInfo> {
    const { ref, manifest } = await this.resolve(validateObjectKey(key));
    return toInfo(key, ref, manifest);
  }

  /**
   * The object's info and its bytes in [offset, offset+length), verified chunk
   * by chunk; `fromStore` re-reads the manifest from the bucket too.
   */
  async get(key: string, offset = 0, length = 0, opts: { fromStore?: boolean } = {}): Promise<{ info: ObjectInfo; data: AsyncIterable<Uint8Array> }> {
    const { ref, manifest } = await this.resolve(validateObjectKey(key), opts);
    const info = toInfo(key, ref, manifest);
    if (offset > info.size) {
      throw new O3mlError("INVALID_ARGUMENT", `get ${key}: offset ${offset} is past the end (size ${info.size})`, { key });
    }
    const end = length === 0 ? info.size : Math.min(info.size, offset + length);
    return { info, data: readChunks(this.store, objectRange(manifest, offset, end), this.opts.readPrefetch, { key }) };
  }

  /**
   * One page of objects under `prefix`: at most `pageSize` (≤ 1000) names and
   * about LIST_PAGE_BYTES of entries, whatever their labels and content types.
   * A damaged object (manifest missing or failing its CID) is listed with
   * `problem` set instead of failing the page, so its neighbours stay usable.
   */
  async list(prefix: string, pageSize: number, after?: string): Promise<{ objects: ObjectInfo[]; next?: string }> {
    validatePrefix(prefix);
    const limit = Math.min(Math.max(pageSize || 1000, 1), 1000);
    const { names, more } = await this.refs.page(prefix, after, limit);
    const infos = await mapLimit(names, 16, async ({ name, refKey }) => {
      // Prefix "a/" also matches the refs of "a" itself ("…/a/@<id>"): "a" is not under "a/".
      if (!name.startsWith(prefix)) return undefined;
      const ref = await this.refs.read(refKey);
      if (ref.deleted) return undefined;
      try {
        return toInfo(name, ref, await this.manifests.read(ref.manifestCid, name));
      } catch (err) {
        if (!isO3mlError(err, "INTEGRITY")) throw err;
        this.log?.warn({ key: name, cid: ref.manifestCid }, `listing shows ${name} as damaged: ${(err as Error).message}`);
        return { ...toInfo(name, ref, { chunks: [], contentType: "", labels: {}, sha256: new Uint8Array(0) }), problem: (err as Error).message };
      }
    });
    // Cut the page where its entries pass the byte budget (always keeping one),
    // so no page outgrows a client's message limit.
    const objects: ObjectInfo[] = [];
    let bytes = 0;
    let last = -1;
    for (let i = 0; i < infos.length; i++) {
      const info = infos[i];
      if (info !== undefined) {
        const size = entryBytes(info);
        if (objects.length > 0 && bytes + size > LIST_PAGE_BYTES) {
          return { objects, next: names[last]!.name };
        }
        bytes += size;
        objects.push(info);
      }
      last = i;
    }
    return { objects, next: more ? names[names.length - 1]?.name : undefined };
  }

  /**
   * Writes a tombstone ref (after a listener's deletion event, when there is
   * one: commit-order.ts); the data stays until `o3ml gc` finds it unreachable.
   */
  async delete(key: string): Promise<boolean> {
    validateObjectKey(key);
    return this.locks.run(key, async () => {
      const latest = await this.refs.latest(key);
      if (!latest || latest.deleted) return false;
      let written: Promise<RefRecord> | undefined;
      const writeTombstone: WriteTombstone = (beforeRef) => {
        if (written) throw new O3mlError("INTERNAL", `delete ${key}: a second tombstone was asked for; only one listener may record the deletion`, { key });
        return (written = this.refs.write(key, { manifestCid: "", size: 0, deleted: true }, beforeRef));
      };
      for (const l of this.listeners) await l(key, latest, "deleted", writeTombstone);
      await (written ?? writeTombstone());
      return true;
    });
  }

  private async refuseLive(key: string, latest: RefRecord | undefined, what: string): Promise<void> {
    if (!latest || latest.deleted) return;
    throw new O3mlError(
      "ALREADY_EXISTS",
      `${what}: ${key} already holds an object (manifest ${latest.manifestCid}) and this put creates only an absent key; nothing was committed — delete it first, or put without if_absent to replace it`,
      { key, cid: latest.manifestCid },
    );
  }

  /**
   * The key's newest ref and the manifest it names; NOT_FOUND when there is
   * none or it was deleted. `fromStore` re-reads the ref and the manifest
   * from the bucket.
   */
  async resolve(key: string, opts: { fromStore?: boolean } = {}): Promise<{ ref: RefRecord; manifest: ObjectManifest }> {
    const ref = await this.refs.latest(key, opts);
    if (!ref || ref.deleted) {
      throw new O3mlError("NOT_FOUND", `no object ${key} in bucket ${this.store.bucket}; check the key with 'o3ml ls'`, { key });
    }
    return { ref, manifest: await this.manifests.read(ref.manifestCid, key, opts) };
  }
}

/** Whether the manifest is a checkpoint with packed entries, whose bytes its blobs do not hold in order. */
function packed(m: ObjectManifest): m is CheckpointManifest {
  return m.checkpoint !== undefined && hasPacks(m.checkpoint);
}

/**
 * The chunk spans holding bytes [from, to) of the object: of its blobs in order, or for a
 * checkpoint with packs, of its entries in table order (checkpoint-table.ts).
 */
function objectRange(m: ObjectManifest, from: number, to: number): ChunkSpan[] {
  if (packed(m)) return objectSpans(m, from, to);
  const spans: ChunkSpan[] = [];
  let pos = 0;
  for (const c of m.chunks) {
    const end = pos + c.size;
    if (end > from && pos < to) spans.push({ cid: c.cid, size: c.size, from: Math.max(0, from - pos), to: Math.min(c.size, to - pos) });
    pos = end;
  }
  return spans;
}

/** Largest piece of verified bytes a co-located get sends in one message. */
const PIECE_BYTES = 2 * 1024 * 1024;

async function* piecesOf(bytes: AsyncGenerator<Uint8Array>): AsyncGenerator<LocatedBlob> {
  for await (const b of bytes) for (let at = 0; at < b.byteLength; at += PIECE_BYTES) yield b.subarray(at, Math.min(b.byteLength, at + PIECE_BYTES));
}

function toInfo(
  key: string,
  ref: RefRecord,
  m: Pick<ObjectManifest, "chunks" | "contentType" | "labels" | "sha256" | "checkpoint">,
): ObjectInfo {
  return {
    key,
    size: Number(ref.size),
    cid: ref.manifestCid,
    createdUnixMs: Number(ref.createdUnixMs),
    chunkCount: m.chunks.length,
    contentType: m.contentType,
    labels: { ...m.labels },
    sha256: Buffer.from(m.sha256).toString("hex"),
    archiveSize: m.checkpoint ? archiveSize(m.checkpoint) : 0,
  };
}

/** The sha2-256 (hex) of an object of at most one chunk: that chunk's CID digest, or that of no bytes. */
function soleChunkSha256(chunks: readonly { cid: string }[]): string {
  if (chunks.length > 1) throw new O3mlError("INTERNAL", `soleChunkSha256: ${chunks.length} chunks, one at most expected`);
  return chunks.length === 0 ? createSha256().digestHex() : Buffer.from(digestOfCid(chunks[0]!.cid)).toString("hex");
}
