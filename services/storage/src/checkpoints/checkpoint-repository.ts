import { crc32 } from "node:zlib";
import { O3mlError } from "@o3ml/errors";
import { createSha256, entryRanges, parseCid, type ObjectManifest } from "@o3ml/integrity";
import { o3ml } from "@o3ml/proto";
import { readChunks, type ChunkSpan, validatePrefix } from "@o3ml/repository";
import { mapLimit } from "@o3ml/o3-client";
import { INLINE_BYTES, locatedBlobs, type LocatedBlob } from "../colocation/located-blobs.js";
import type { ObjectInfo } from "../object-repository.js";
import { ArchiveReader } from "./archive-reader.js";
import type { CheckpointPins } from "./checkpoint-pins.js";
import { pruneCheckpoints, rulesOf, type PruneResult } from "./checkpoint-prune.js";
import { allEntrySpans, checkpointInfo, findRecord, recordsOfRun, type CheckpointInfo, type CheckpointManifest } from "./checkpoint-info.js";
import { saveCheckpoint, type CheckpointDeps, type SaveMessage } from "./checkpoint-save.js";
import { ARCHIVE_CONTENT_TYPE } from "./torch-archive.js";

/** Names a checkpoint by object key or by manifest CID (exactly one). */
export interface CheckpointSelector {
  key?: string | null;
  cid?: string | null;
}

export type LoadMessage = { info: CheckpointInfo } | { entry: o3ml.v1.EntryHeader.$Properties } | { data: Uint8Array };
export type ArchiveMessage = { info: ObjectInfo } | { data: Uint8Array };
export type LocateMessage = { info: CheckpointInfo } | { entry: o3ml.v1.LocatedEntry.$Properties };

/** Largest data payload of one Load message (gRPC caps a message at 4 MiB). */
const LOAD_MESSAGE_BYTES = 2 * 1024 * 1024;
/** Archive pieces below this size (headers, small records) are sent together with their neighbours. */
const SMALL_PIECE_BYTES = 64 * 1024;

/**
 * Checkpoints: objects whose manifest carries a checkpoint table. Saved by
 * `save` (checkpoint-save.ts); read back entry by entry, every blob verified
 * before any of its bytes is passed on. Listings come from the metadata index
 * (which holds upload figures and states), each joined with its manifest.
 */
export class CheckpointRepository {
  private readonly archives: ArchiveReader;

  constructor(
    private readonly d: CheckpointDeps,
    private readonly pins: CheckpointPins,
  ) {
    this.archives = new ArchiveReader(d.store, d.opts.readPrefetch);
  }

  /** Applies retention rules to one run's checkpoints (checkpoint-prune.ts). */
  async prune(req: o3ml.v1.PruneRequest.$Properties): Promise<PruneResult> {
    const rules = rulesOf(req);
    const run = req.run ?? "";
    if (!run) throw new O3mlError("INVALID_ARGUMENT", "prune: name the run whose checkpoints to prune (its id or name)");
    return pruneCheckpoints(this.d, this.pins, run, await this.list(run, ""), rules, !!req.dryRun);
  }

  /** Pins a committed checkpoint, or unpins one (a deleted checkpoint may still be unpinned). */
  async pin(sel: CheckpointSelector, pinned: boolean): Promise<{ info: CheckpointInfo; pinned: boolean }> {
    const { info } = await this.open(sel);
    if (pinned && info.state === "deleted") {
      throw new O3mlError("FAILED_PRECONDITION", `checkpoint ${info.cid} (${info.key}) was deleted, so there is nothing to pin; pin one that 'o3ml ckpt ls' lists`, { cid: info.cid, key: info.key });
    }
    await this.pins.set(info.cid, pinned);
    return { info, pinned };
  }

  save(header: o3ml.v1.CheckpointHeader.$Properties, messages: AsyncIterable<SaveMessage>, cancelled: () => boolean): Promise<CheckpointInfo> {
    return saveCheckpoint(this.d, header, messages, cancelled);
  }

  /** Which entries the run's last staged save had (same size, same chunk digests): they need not be sent. */
  recall(run: string, entries: o3ml.v1.EntryHeader.$Properties[]): { known: boolean[]; chunkSize: number } {
    return {
      known: entries.map((e) => this.d.recall.recall(run, Number(e.nbytes ?? 0), (e.chunkDigests ?? []).map((d) => new Uint8Array(d))) !== undefined),
      chunkSize: this.d.opts.chunkSize,
    };
  }

  async stat(sel: CheckpointSelector): Promise<CheckpointInfo> {
    return (await this.open(sel)).info;
  }

  /** The info, then each entry's header and its verified bytes, fetching blobs ahead across entries. */
  async *load(sel: CheckpointSelector): AsyncGenerator<LoadMessage> {
    const { info, manifest } = await this.open(sel);
    if (info.state === "deleted") {
      throw new O3mlError("NOT_FOUND", `checkpoint ${info.cid} (${info.key}) was deleted; its data stays in the bucket only until 'o3ml gc' runs`, { cid: info.cid, key: info.key });
    }
    yield { info };
    const perEntry = allEntrySpans(manifest);
    // A pack several entries share is fetched once and held until its last entry (readChunks).
    const blobs = readChunks(this.d.store, perEntry.flat(), this.d.opts.readPrefetch, { key: info.key });
    try {
      for (const [i, e] of manifest.checkpoint.entries.entries()) {
        yield { entry: { name: e.name, kind: e.kind === "skeleton" ? o3ml.v1.EntryKind.SKELETON : o3ml.v1.EntryKind.STORAGE, dtype: e.dtype, nbytes: e.nbytes } };
        for (let n = perEntry[i]!.length; n > 0; n--) {
          const next = await blobs.next();
          if (next.done) throw new O3mlError("INTERNAL", `load checkpoint ${info.key}: fewer blobs than its manifest lists`);
          const chunk = next.value;
          for (let off = 0; off < chunk.byteLength; off += LOAD_MESSAGE_BYTES) {
            yield { data: chunk.subarray(off, Math.min(chunk.byteLength, off + LOAD_MESSAGE_BYTES)) };
          }
        }
      }
    } finally {
      await blobs.return(undefined);
    }
  }

  /**
   * Co-located load: the info, then each entry's header and the host-cache
   * files of its blobs, each verified right before it is named (Host.verifiedFile).
   * Blobs are fetched into the cache `concurrency` at a time, ahead across
   * entries; every file stays pinned until the stream ends.
   */
  async *locate(sel: CheckpointSelector): AsyncGenerator<LocateMessage> {
    const { info, manifest } = await this.open(sel);
    if (info.state === "deleted") {
      throw new O3mlError("NOT_FOUND", `checkpoint ${info.cid} (${info.key}) was deleted; its data stays in the bucket only until 'o3ml gc' runs`, { cid: info.cid, key: info.key });
    }
    yield { info };
    const entries = manifest.checkpoint.entries;
    // Small entries ride inline: fetched and verified in memory, no cache file; so do small
    // packs, whose entries are sliced out of them (held until the last is sent). A larger pack is
    // a cache file like any large blob, and each of its entries names its range of it: fetched
    // on the fetch threads, not received, sliced and re-sent through the event loop.
    const inline = new Array<boolean>(manifest.chunks.length);
    const packUses = new Map<number, number>();
    for (const e of entries) {
      if (e.packed) packUses.set(e.firstChunk, (packUses.get(e.firstChunk) ?? 0) + 1);
      const small = e.packed ? manifest.chunks[e.firstChunk]!.size <= INLINE_BYTES : e.nbytes <= INLINE_BYTES;
      inline.fill(small, e.firstChunk, e.firstChunk + e.chunkCount);
    }
    const blobs = locatedBlobs(this.d.host, this.d.store, manifest.chunks, (i) => inline[i]!, this.d.opts.concurrency, info.key, `load checkpoint ${info.key}`);
    const held = new Map<number, LocatedBlob>();
    let consumed = 0;
    const nextBlob = async () => {
      const next = await blobs.next();
      if (next.done) throw new O3mlError("INTERNAL", `load checkpoint ${info.key}: fewer blobs than its manifest lists`);
      consumed++;
      return next.value;
    };
    try {
      for (const e of entries) {
        const header = { name: e.name, kind: e.kind === "skeleton" ? o3ml.v1.EntryKind.SKELETON : o3ml.v1.EntryKind.STORAGE, dtype: e.dtype, nbytes: e.nbytes };
        if (e.packed) {
          // The chunk list is in order of first use (checkpoint-table.ts): a pack not yet held is the next blob.
          let pack = held.get(e.firstChunk);
          if (!pack) {
            if (e.firstChunk !== consumed) throw new O3mlError("INTERNAL", `load checkpoint ${info.key}: entry ${JSON.stringify(e.name)} names pack ${e.firstChunk} out of order`);
            held.set(e.firstChunk, (pack = await nextBlob()));
          }
          const left = packUses.get(e.firstChunk)! - 1;
          packUses.set(e.firstChunk, left);
          if (left === 0) held.delete(e.firstChunk);
          const at = e.offset ?? 0;
          yield pack instanceof Uint8Array
            ? { entry: { entry: header, files: [], data: pack.subarray(at, at + e.nbytes) } }
            : { entry: { entry: header, files: [{ path: pack.path, size: e.nbytes, offset: at }] } };
          continue;
        }
        const files: o3ml.v1.CachedFile.$Properties[] = [];
        const pieces: Uint8Array[] = [];
        for (let i = 0; i < e.chunkCount; i++) {
          const got = await nextBlob();
          if (got instanceof Uint8Array) pieces.push(got);
          else files.push({ path: got.path, size: got.size });
        }
        yield { entry: { entry: header, files, data: pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces) } };
      }
    } finally {
      await blobs.return(undefined);
    }
  }

  /**
   * The checkpoint's torch archive view (torch-archive.ts): its info as an
   * object (size = the archive's, cid = the checkpoint's id), then the bytes
   * [offset, offset + length) (length 0: to the end), every blob verified
   * before any of its bytes is sent.
   */
  async *readArchive(sel: CheckpointSelector, offset: number, length: number): AsyncGenerator<ArchiveMessage> {
    const { info, manifest } = await this.open(sel);
    if (info.state === "deleted") {
      throw new O3mlError("NOT_FOUND", `checkpoint ${info.cid} (${info.key}) was deleted; its data stays in the bucket only until 'o3ml gc' runs`, { cid: info.cid, key: info.key });
    }
    // A copy of a checkpoint (an alias) is read under the key it was asked by.
    const key = sel.key || info.key;
    const layout = await this.archives.layout(info.cid, manifest, key);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > layout.size) {
      throw new O3mlError("INVALID_ARGUMENT", `read archive of ${key}: offset ${offset} is past the end (archive size ${layout.size})`, { key });
    }
    const end = length === 0 ? layout.size : Math.min(layout.size, offset + length);
    yield {
      info: {
        key,
        size: layout.size,
        cid: info.cid,
        createdUnixMs: info.createdUnixMs,
        chunkCount: manifest.chunks.length,
        contentType: ARCHIVE_CONTENT_TYPE,
        labels: { ...manifest.labels },
        sha256: "",
        archiveSize: layout.size,
      },
    };
    // Headers are tens of bytes each: gathered with their neighbours, they ride in few messages.
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = () => {
      const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      return { data };
    };
    for await (const bytes of this.archives.read(manifest, layout, offset, end, key)) {
      if (bytes.byteLength < SMALL_PIECE_BYTES && pendingBytes + bytes.byteLength <= LOAD_MESSAGE_BYTES) {
        pending.push(bytes);
        pendingBytes += bytes.byteLength;
        continue;
      }
      if (pendingBytes > 0) yield flush();
      for (let off = 0; off < bytes.byteLength; off += LOAD_MESSAGE_BYTES) {
        yield { data: bytes.subarray(off, Math.min(bytes.byteLength, off + LOAD_MESSAGE_BYTES)) };
      }
    }
    if (pendingBytes > 0) yield flush();
  }

  /** Checkpoints not deleted, of one run and/or under a key prefix, in commit order. */
  async list(run: string, prefix: string): Promise<CheckpointInfo[]> {
    validatePrefix(prefix);
    const records = await recordsOfRun(this.d.metadata.index, run || undefined, ["committed", "durable"]);
    const infos = await mapLimit(records, 16, async (r) => {
      try {
        const m = await this.d.objects.manifests.read(r.manifestCid);
        return m.checkpoint ? checkpointInfo(r.id, m as CheckpointManifest, r) : undefined;
      } catch (err) {
        // One unreadable manifest must not hide the others; `o3ml ckpt verify` reports it.
        this.d.log.warn({ cid: r.manifestCid, err: String(err) }, `checkpoint ${r.id} is left out of the listing: its manifest cannot be read`);
        return undefined;
      }
    });
    return infos.filter((i): i is CheckpointInfo => i !== undefined && i.key.startsWith(prefix));
  }

  /** Re-reads and re-hashes every blob, then the whole checkpoint; INTEGRITY names the key and CID of what failed. */
  async verify(sel: CheckpointSelector): Promise<{ info: CheckpointInfo; blobsChecked: number; bytesChecked: number }> {
    // A check re-reads the manifest too: a copy decoded earlier proves nothing about the bucket now.
    const { info, manifest } = await this.open(sel, { fromStore: true });
    const hash = createSha256();
    let blobsChecked = 0;
    let bytesChecked = 0;
    // Each entry's CRC-32 (what the archive view's headers carry) is checked against its bytes too:
    // the chunks come once each, in order, and each adds to the entries whose bytes it holds.
    const entries = manifest.checkpoint.entries;
    const crcs = new Array<number>(entries.length).fill(0);
    const users: { entry: number; from: number; to: number }[][] = manifest.chunks.map(() => []);
    for (const [i, e] of entries.entries()) for (const r of entryRanges(e, manifest.chunks)) users[r.chunk]!.push({ entry: i, from: r.from, to: r.to });
    for await (const chunk of readChunks(this.d.store, spans(manifest), Math.max(4, this.d.opts.readPrefetch), { key: info.key })) {
      if (manifest.sha256.length > 0) hash.update(chunk);
      bytesChecked += chunk.byteLength;
      for (const u of users[blobsChecked]!) crcs[u.entry] = crc32(chunk.subarray(u.from, u.to), crcs[u.entry]);
      blobsChecked++;
    }
    for (const [i, e] of entries.entries()) {
      if (e.crc32 !== undefined && e.crc32 !== crcs[i]! >>> 0) {
        throw new O3mlError("INTEGRITY", `checkpoint ${info.cid} at ${info.key}: every blob matches its CID but entry ${JSON.stringify(e.name)} has CRC-32 ${crcs[i]! >>> 0}, not the table's ${e.crc32}; the manifest is inconsistent — restore the checkpoint from another copy`, { key: info.key, cid: info.cid });
      }
    }
    const whole = hash.digestHex();
    // Checkpoints saved since the co-located data plane carry no whole digest: their CIDs prove them.
    if (manifest.sha256.length > 0 && whole !== Buffer.from(manifest.sha256).toString("hex")) {
      throw new O3mlError(
        "INTEGRITY",
        `checkpoint ${info.cid} at ${info.key}: every blob matches its CID but the whole hashes to sha256 ${whole}, not the manifest's; the manifest is inconsistent — restore the checkpoint from another copy`,
        { key: info.key, cid: info.cid },
      );
    }
    return { info, blobsChecked, bytesChecked };
  }

  /** Resolves a selector to the checkpoint's manifest and info. */
  async open(sel: CheckpointSelector, opts: { fromStore?: boolean } = {}): Promise<{ info: CheckpointInfo; manifest: CheckpointManifest }> {
    const key = sel.key ?? "";
    const cid = sel.cid ?? "";
    if ((key === "") === (cid === "")) {
      throw new O3mlError("INVALID_ARGUMENT", "name a checkpoint by its object key or by its manifest CID (exactly one of key, cid)");
    }
    const index = this.d.metadata.index;
    if (key) {
      const { ref, manifest } = await this.d.objects.resolve(key, opts);
      const m = asCheckpoint(manifest, `object ${key}`);
      const info = checkpointInfo(ref.manifestCid, m, await findRecord(index, ref.manifestCid), Number(ref.createdUnixMs));
      // A live ref is the record of truth; an index that says otherwise lags behind it.
      if (info.state === "deleted") info.state = "committed";
      return { info, manifest: m };
    }
    parseCid(cid);
    const m = asCheckpoint(await this.d.objects.manifests.read(cid, undefined, opts), `manifest ${cid}`);
    return { info: checkpointInfo(cid, m, await findRecord(index, cid)), manifest: m };
  }
}

function asCheckpoint(m: ObjectManifest, what: string): CheckpointManifest {
  if (!m.checkpoint) {
    throw new O3mlError("FAILED_PRECONDITION", `${what} is not a checkpoint (it was stored with put, not saved through the CheckpointService); read it with 'o3ml get'`);
  }
  return m as CheckpointManifest;
}

function spans(m: ObjectManifest): ChunkSpan[] {
  return m.chunks.map((c) => ({ cid: c.cid, size: c.size, from: 0, to: c.size }));
}
