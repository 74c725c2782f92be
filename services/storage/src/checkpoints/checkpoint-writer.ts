import type { FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import { cidOf, fixedChunker, type CheckpointEntry, type ChunkEntry, type Chunker } from "@o3ml/integrity";
import { BlobWriter, type BlobLease, type ChunkBudget, type KnownBlobs } from "@o3ml/repository";
import type { HashPool } from "../colocation/hash-pool.js";
import { cutsOf, writeStagedBlobs, type Cut, type KeepBlob } from "../colocation/staged-blobs.js";
import type { EntryAnnouncement } from "./checkpoint-header.js";
import { RecallMemory, type RecalledEntry } from "./recall-memory.js";

/** A checkpoint's content once every entry arrived: what its manifest names. */
export interface CheckpointBody {
  entries: CheckpointEntry[];
  chunks: ChunkEntry[];
  size: number;
  bytesUploaded: number;
  bytesDeduplicated: number;
}

/**
 * Turns the entries of one Save stream into blobs. Each entry is cut by a
 * fresh run of the fixed chunker, so chunk boundaries restart at every entry
 * and an unchanged tensor storage yields the same blobs as last time (dedup:
 * no upload). Every blob is leased until the caller's commit ends.
 */
export class CheckpointWriter {
  private readonly blobs: BlobWriter;
  private readonly chunker: Chunker;
  private readonly entries: CheckpointEntry[] = [];
  private readonly announced: EntryAnnouncement[] = [];
  private readonly chunks: ChunkEntry[] = [];
  private current?: { entry: CheckpointEntry; received: number; crc: number };
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
    const entry: CheckpointEntry = { ...withoutWire(e), firstChunk: this.chunks.length, chunkCount: 0 };
    this.entries.push(entry);
    this.current = { entry, received: 0, crc: 0 };
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
    for (const chunk of this.chunker.push(bytes)) await this.emit(chunk);
  }

  /** Closes the entry being received; it must have all the bytes its header declared. */
  async end(): Promise<void> {
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    for (const chunk of this.chunker.finish()) await this.emit(chunk);
    if (c.received !== c.entry.nbytes) {
      throw new O3mlError(
        "INVALID_ARGUMENT",
        `save checkpoint ${this.key}: entry ${JSON.stringify(c.entry.name)} ended after ${c.received} of its ${c.entry.nbytes} declared bytes; nothing was committed`,
        { key: this.key },
      );
    }
    c.entry.chunkCount = this.chunks.length - c.entry.firstChunk;
    c.entry.crc32 = c.crc >>> 0;
  }

  /**
   * A staged save: every entry announced so far that is not `reused` has its
   * bytes in `file`, back to back in entry order, and the file holds nothing
   * else. The blobs are the ones a streamed save cuts (chunk boundaries
   * restart at every entry), read and hashed on the pool's threads, many at
   * once, and only blobs the bucket lacks are uploaded; one sequential pass on
   * another thread gives each entry's CRC-32. A reused entry takes the blobs
   * and CRC-32 that `memory` has for the run under its digests, each checked
   * to be in the bucket; a FAILED_PRECONDITION says to save again without reuse.
   */
  async writeStaged(file: FileHandle, hashes: HashPool, memory: RecallMemory, run: string, keep?: KeepBlob): Promise<void> {
    if (this.current || this.entries.length > 0) throw new O3mlError("INTERNAL", `save checkpoint ${this.key}: a staged save mixed with streamed entries`);
    const ranges: [number, number][] = [];
    const cuts: Cut[] = [];
    const reused = new Map<number, RecalledEntry>();
    let offset = 0;
    for (const [i, e] of this.announced.entries()) {
      if (e.reused) {
        const known = memory.recall(run, e.nbytes, e.chunkDigests ?? []);
        if (!known) {
          throw new O3mlError("FAILED_PRECONDITION", `save checkpoint ${this.key}: entry ${JSON.stringify(e.name)} is sent as reused, but this service no longer remembers it for run ${run} (it restarted, or the run saved since); nothing was committed — save again without reuse`, { key: this.key });
        }
        reused.set(i, known);
        continue;
      }
      cuts.push(...cutsOf(offset, e.nbytes, this.opts.chunkSize));
      ranges.push([offset, e.nbytes]);
      offset += e.nbytes;
    }
    const size = (await file.stat()).size;
    if (size !== offset) {
      throw new O3mlError("INVALID_ARGUMENT", `save checkpoint ${this.key}: the staged file holds ${size} bytes, the entries not reused declare ${offset}; nothing was committed`, { key: this.key });
    }
    for (const known of reused.values()) {
      for (const [j, cid] of known.cids.entries()) await this.blobs.reuse(cid, known.sizes[j]!, this.key);
    }
    const staged = await writeStagedBlobs(file, cuts, ranges, hashes, this.blobs, this.opts.concurrency, `save checkpoint ${this.key}`, false, keep);
    let cut = 0;
    let range = 0;
    for (const [i, e] of this.announced.entries()) {
      const known = reused.get(i);
      const first = this.chunks.length;
      if (known) {
        known.cids.forEach((cid, j) => this.chunks.push({ cid, size: known.sizes[j]! }));
        this.entries.push({ ...withoutWire(e), firstChunk: first, chunkCount: known.cids.length, crc32: known.crc32 });
        this.recalled.set(RecallMemory.keyOf(e.nbytes, e.chunkDigests ?? []), known);
        continue;
      }
      const count = Math.ceil(e.nbytes / this.opts.chunkSize);
      const digests = staged.fast.slice(cut, cut + count);
      for (let j = 0; j < count; j++, cut++) this.chunks.push({ cid: staged.cids[cut]!, size: cuts[cut]!.length });
      const entry = { cids: staged.cids.slice(cut - count, cut), sizes: cuts.slice(cut - count, cut).map((c) => c.length), crc32: staged.crcs[range++]! };
      this.entries.push({ ...withoutWire(e), firstChunk: first, chunkCount: count, crc32: entry.crc32 });
      this.recalled.set(RecallMemory.keyOf(e.nbytes, digests), entry);
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
    await this.blobs.flush();
    return {
      entries: this.entries,
      chunks: this.chunks,
      size: this.entries.reduce((n, e) => n + e.nbytes, 0),
      bytesUploaded: this.blobs.bytesUploaded,
      bytesDeduplicated: this.blobs.bytesDeduplicated,
    };
  }

  /** Waits for uploads in flight to settle after a failure (their blobs are garbage for gc). */
  async abort(): Promise<void> {
    await this.blobs.settle();
  }

  private async emit(chunk: Uint8Array): Promise<void> {
    const cid = cidOf(chunk);
    this.chunks.push({ cid, size: chunk.byteLength });
    await this.blobs.write(cid, chunk);
  }
}

/** The entry as the table stores it, without what only the wire carries. */
function withoutWire(e: EntryAnnouncement): Pick<CheckpointEntry, "name" | "kind" | "dtype" | "nbytes"> {
  return { name: e.name, kind: e.kind, dtype: e.dtype, nbytes: e.nbytes };
}
