import type { FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import { checkpointBytes, cidOf, fixedChunker, type CheckpointEntry, type ChunkEntry, type Chunker } from "@o3ml/integrity";
import { BlobWriter, type BlobLease, type ChunkBudget, type KnownBlobs } from "@o3ml/repository";
import type { HashPool } from "../colocation/hash-pool.js";
import { cutsOf, writeStagedBlobs, type Cut, type KeepBlob } from "../colocation/staged-blobs.js";
import type { EntryAnnouncement } from "./checkpoint-header.js";
import { layOut, packable, PackPlan, type PackPlace, type Placement } from "./entry-packs.js";
import { RecallMemory, type RecalledEntry } from "./recall-memory.js";

/** A checkpoint's content once every entry arrived: what its manifest names. */
export interface CheckpointBody {
  entries: CheckpointEntry[];
  chunks: ChunkEntry[];
  /** The checkpoint's bytes: its entries' sizes added up. */
  size: number;
  /** The stored object's bytes: its chunks' sizes added up (more than `size` when it names part of an earlier save's pack). */
  storedSize: number;
  bytesUploaded: number;
  bytesDeduplicated: number;
}

type TableEntry = Omit<CheckpointEntry, "firstChunk" | "chunkCount">;

/**
 * Turns the entries of one Save stream into blobs. A large entry is cut by a
 * fresh run of the fixed chunker, so chunk boundaries restart at every entry
 * and an unchanged tensor storage yields the same blobs as last time (dedup:
 * no upload); small entries are packed together (entry-packs.ts), the same
 * way on the streamed and the staged path. Every blob is leased until the
 * caller's commit ends.
 */
export class CheckpointWriter {
  private readonly blobs: BlobWriter;
  private readonly chunker: Chunker;
  private readonly entries: TableEntry[] = [];
  private readonly placements: Placement[] = [];
  private readonly announced: EntryAnnouncement[] = [];
  /** New packs' blobs, by pack number. */
  private readonly packs: ChunkEntry[] = [];
  private readonly plan: PackPlan;
  /** The streamed bytes of the open pack. */
  private packPieces: Uint8Array[] = [];
  private current?: { entry: TableEntry; received: number; crc: number; own?: ChunkEntry[]; pack?: PackPlace };
  /** A staged save's entries by their chunks' XXH3-128 digests, for the run's next save. */
  readonly recalled = new Map<string, RecalledEntry>();

  constructor(
    store: BlobStore,
    known: KnownBlobs,
    readonly lease: BlobLease,
    private readonly key: string,
    private readonly opts: { chunkSize: number; concurrency: number },
    /** The service's bound on chunks held in memory by uploads (colocation/chunk-buffers.ts). */
    chunks?: ChunkBudget,
  ) {
    this.blobs = new BlobWriter(store, known, opts.concurrency, lease, chunks);
    this.chunker = fixedChunker(opts.chunkSize);
    this.plan = new PackPlan(opts.chunkSize);
  }

  /** Entries announced so far (for checking the next one). */
  get previous(): readonly EntryAnnouncement[] {
    return this.announced;
  }

  /** Announces an entry of a staged save: its bytes are in the staged file, not in data messages. */
  announce(e: EntryAnnouncement): void {
    this.announced.push(e);
  }

  async begin(e: EntryAnnouncement): Promise<void> {
    await this.end();
    if (e.reused) throw new O3mlError("INVALID_ARGUMENT", `save checkpoint ${this.key}: entry ${JSON.stringify(e.name)} is sent as reused in a streamed save; only a staged save may reuse entries`, { key: this.key });
    this.announced.push(e);
    const entry = withoutWire(e);
    if (!packable(e, this.opts.chunkSize)) {
      this.current = { entry, received: 0, crc: 0, own: [] };
      return;
    }
    const place = this.plan.place(e);
    if (place.closed !== undefined) await this.closePack();
    this.current = { entry, received: 0, crc: 0, pack: place };
  }

  async data(bytes: Uint8Array): Promise<void> {
    const c = this.current;
    if (!c) throw new O3mlError("INVALID_ARGUMENT", `save checkpoint ${this.key}: data before the first entry header; send an EntryHeader first`, { key: this.key });
    if (c.received + bytes.byteLength > c.entry.nbytes) {
      throw new O3mlError(
        "INVALID_ARGUMENT",
        `save checkpoint ${this.key}: entry ${JSON.stringify(c.entry.name)} got more than the ${c.entry.nbytes} bytes its header declared; nothing was committed`,
        { key: this.key },
      );
    }
    c.received += bytes.byteLength;
    // The torch archive view's headers carry each entry's CRC-32: recorded now, they need no read later.
    c.crc = crc32(bytes, c.crc);
    if (c.pack) {
      // A data message's bytes are a view of that message alone: safe to hold until the pack closes.
      this.packPieces.push(bytes);
      return;
    }
    for (const chunk of this.chunker.push(bytes)) await this.emit(chunk, c.own!);
  }

  /** Closes the entry being received; it must have all the bytes its header declared. */
  async end(): Promise<void> {
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    if (c.own) for (const chunk of this.chunker.finish()) await this.emit(chunk, c.own);
    if (c.received !== c.entry.nbytes) {
      throw new O3mlError(
        "INVALID_ARGUMENT",
        `save checkpoint ${this.key}: entry ${JSON.stringify(c.entry.name)} ended after ${c.received} of its ${c.entry.nbytes} declared bytes; nothing was committed`,
        { key: this.key },
      );
    }
    this.entries.push({ ...c.entry, crc32: c.crc >>> 0 });
    this.placements.push(c.own ? { own: c.own } : c.pack!);
  }

  /**
   * A staged save: every entry announced so far that is not `reused` has its
   * bytes in `file`, back to back in entry order, and the file holds nothing
   * else. The blobs are the ones a streamed save cuts (chunk boundaries
   * restart at every entry, small entries packed), read and hashed on the
   * pool's threads, many at once, and only blobs the bucket lacks are
   * uploaded; one sequential pass on another thread gives each entry's CRC-32.
   * A reused entry takes the blobs (or the place in a pack) and CRC-32 that
   * `memory` has for the run under its digests, each checked to be in the
   * bucket; a FAILED_PRECONDITION says to save again without reuse.
   */
  async writeStaged(file: FileHandle, hashes: HashPool, memory: RecallMemory, run: string, keep?: KeepBlob): Promise<void> {
    if (this.current || this.entries.length > 0) throw new O3mlError("INTERNAL", `save checkpoint ${this.key}: a staged save mixed with streamed entries`);
    const ranges: [number, number][] = [];
    const cuts: Cut[] = [];
    /** Per announced entry: what memory recalled, its own cuts [first, count], or its place in a pack. */
    const where: ({ known: RecalledEntry } | { cuts: [number, number] } | { pack: PackPlace; part: number })[] = [];
    /** Each pack's cut, and the parts read into it so far. */
    const packCut: number[] = [];
    let parts: [number, number][] = [];
    const closePack = () => {
      packCut.push(cuts.push({ offset: parts[0]![0], length: parts.reduce((n, [, l]) => n + l, 0), parts }) - 1);
      parts = [];
    };
    let offset = 0;
    for (const e of this.announced) {
      if (e.reused) {
        const known = memory.recall(run, e.nbytes, e.chunkDigests ?? []);
        if (!known) {
          throw new O3mlError("FAILED_PRECONDITION", `save checkpoint ${this.key}: entry ${JSON.stringify(e.name)} is sent as reused, but this service no longer remembers it for run ${run} (it restarted, or the run saved since); nothing was committed — save again without reuse`, { key: this.key });
        }
        where.push({ known });
        continue;
      }
      ranges.push([offset, e.nbytes]);
      if (packable(e, this.opts.chunkSize)) {
        const place = this.plan.place(e);
        if (place.closed !== undefined) closePack();
        where.push({ pack: place, part: parts.push([offset, e.nbytes]) - 1 });
      } else {
        const mine = cutsOf(offset, e.nbytes, this.opts.chunkSize);
        where.push({ cuts: [cuts.length, mine.length] });
        cuts.push(...mine);
      }
      offset += e.nbytes;
    }
    if (parts.length > 0) closePack();
    const size = (await file.stat()).size;
    if (size !== offset) {
      throw new O3mlError("INVALID_ARGUMENT", `save checkpoint ${this.key}: the staged file holds ${size} bytes, the entries not reused declare ${offset}; nothing was committed`, { key: this.key });
    }
    for (const [i, w] of where.entries()) {
      if (!("known" in w)) continue;
      // A packed entry counts its own bytes as deduplicated, not its pack's: the pack holds others.
      const k = w.known;
      for (const [j, cid] of k.cids.entries()) await this.blobs.reuse(cid, k.offset === undefined ? k.sizes[j]! : this.announced[i]!.nbytes, this.key);
    }
    const staged = await writeStagedBlobs(file, cuts, ranges, hashes, this.blobs, this.opts.concurrency, `save checkpoint ${this.key}`, false, keep);
    for (const c of packCut) this.packs.push({ cid: staged.cids[c]!, size: cuts[c]!.length });
    let range = 0;
    for (const [i, e] of this.announced.entries()) {
      const w = where[i]!;
      if ("known" in w) {
        const k = w.known;
        this.placements.push(k.offset === undefined ? { own: k.cids.map((cid, j) => ({ cid, size: k.sizes[j]! })) } : { stored: { cid: k.cids[0]!, size: k.sizes[0]! }, offset: k.offset });
        this.entries.push({ ...withoutWire(e), crc32: k.crc32 });
        this.recalled.set(RecallMemory.keyOf(e.nbytes, e.chunkDigests ?? []), k);
        continue;
      }
      const crc = staged.crcs[range++]!;
      this.entries.push({ ...withoutWire(e), crc32: crc });
      if ("pack" in w) {
        const pack = this.packs[w.pack.pack]!;
        this.placements.push(w.pack);
        const digest = staged.partFast[packCut[w.pack.pack]!]![w.part]!;
        this.recalled.set(RecallMemory.keyOf(e.nbytes, [digest]), { cids: [pack.cid], sizes: [pack.size], crc32: crc, offset: w.pack.offset });
        continue;
      }
      const [first, count] = w.cuts;
      const own = Array.from({ length: count }, (_, j) => ({ cid: staged.cids[first + j]!, size: cuts[first + j]!.length }));
      this.placements.push({ own });
      this.recalled.set(RecallMemory.keyOf(e.nbytes, staged.fast.slice(first, first + count)), { cids: own.map((c) => c.cid), sizes: own.map((c) => c.size), crc32: crc });
    }
  }

  /** Ends the last entry, checks the trailer's count, and waits until every blob is stored. */
  async finish(entryCount: number): Promise<CheckpointBody> {
    await this.end();
    if (entryCount !== this.entries.length) {
      throw new O3mlError(
        "INVALID_ARGUMENT",
        `save checkpoint ${this.key}: the trailer counts ${entryCount} entries but ${this.entries.length} were sent; nothing was committed`,
        { key: this.key },
      );
    }
    if (this.packPieces.length > 0) await this.closePack();
    await this.blobs.flush();
    const { entries, chunks } = layOut(this.entries, this.placements, this.packs);
    return {
      entries,
      chunks,
      size: checkpointBytes({ entries }),
      storedSize: chunks.reduce((n, c) => n + c.size, 0),
      bytesUploaded: this.blobs.bytesUploaded,
      bytesDeduplicated: this.blobs.bytesDeduplicated,
    };
  }

  /** Waits for uploads in flight to settle after a failure (their blobs are garbage for gc). */
  async abort(): Promise<void> {
    await this.blobs.settle();
  }

  /** Stores the streamed pack that just filled up (or the last one). */
  private async closePack(): Promise<void> {
    const bytes = this.packPieces.length === 1 ? this.packPieces[0]! : Buffer.concat(this.packPieces);
    this.packPieces = [];
    const cid = cidOf(bytes);
    this.packs.push({ cid, size: bytes.byteLength });
    await this.blobs.write(cid, bytes);
  }

  private async emit(chunk: Uint8Array, own: ChunkEntry[]): Promise<void> {
    const cid = cidOf(chunk);
    own.push({ cid, size: chunk.byteLength });
    await this.blobs.write(cid, chunk);
  }
}

/** The entry as the table stores it, without what only the wire carries. */
function withoutWire(e: EntryAnnouncement): Pick<CheckpointEntry, "name" | "kind" | "dtype" | "nbytes"> {
  return { name: e.name, kind: e.kind, dtype: e.dtype, nbytes: e.nbytes };
}
