import type { FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import { cidOf, cidOfDigest, createSha256, fixedChunker, type CheckpointEntry, type ChunkEntry, type Chunker } from "@o3ml/integrity";
import { BlobWriter } from "../blob-writer.js";
import type { HashPool } from "../colocation/hash-pool.js";
import type { BlobLease, KnownBlobs } from "../known-blobs.js";
import type { EntryAnnouncement } from "./checkpoint-header.js";

/** A checkpoint's content once every entry arrived: what its manifest names. */
export interface CheckpointBody {
  entries: CheckpointEntry[];
  chunks: ChunkEntry[];
  size: number;
  sha256: Uint8Array;
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
  private readonly hash = createSha256();
  private readonly entries: CheckpointEntry[] = [];
  private readonly announced: EntryAnnouncement[] = [];
  private readonly chunks: ChunkEntry[] = [];
  private current?: { entry: CheckpointEntry; received: number; crc: number };
  /** Set by a staged save: the whole-checkpoint digest, computed from the file. */
  private stagedSha256?: Uint8Array;

  constructor(
    store: BlobStore,
    known: KnownBlobs,
    readonly lease: BlobLease,
    private readonly key: string,
    private readonly opts: { chunkSize: number; concurrency: number },
  ) {
    this.blobs = new BlobWriter(store, known, opts.concurrency, lease);
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
    this.announced.push(e);
    const entry: CheckpointEntry = { ...e, firstChunk: this.chunks.length, chunkCount: 0 };
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
    this.hash.update(bytes);
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
   * A staged save: every entry announced so far has its bytes in `file`, back
   * to back in entry order, and the file holds nothing else. The blobs are the
   * ones a streamed save cuts (chunk boundaries restart at every entry), but
   * read and hashed on the pool's threads, many at once, and only blobs the
   * bucket lacks are uploaded; one sequential pass on another thread gives the
   * whole digest and each entry's CRC-32.
   */
  async writeStaged(file: FileHandle, hashes: HashPool): Promise<void> {
    if (this.current || this.entries.length > 0) throw new O3mlError("INTERNAL", `save checkpoint ${this.key}: a staged save mixed with streamed entries`);
    const ranges: [number, number][] = [];
    const cuts: { offset: number; length: number }[] = [];
    let offset = 0;
    for (const e of this.announced) {
      const entry: CheckpointEntry = { ...e, firstChunk: cuts.length, chunkCount: 0 };
      for (let at = 0; at < e.nbytes; at += this.opts.chunkSize) cuts.push({ offset: offset + at, length: Math.min(this.opts.chunkSize, e.nbytes - at) });
      entry.chunkCount = cuts.length - entry.firstChunk;
      this.entries.push(entry);
      ranges.push([offset, e.nbytes]);
      offset += e.nbytes;
    }
    const size = (await file.stat()).size;
    if (size !== offset) {
      throw new O3mlError("INVALID_ARGUMENT", `save checkpoint ${this.key}: the staged file holds ${size} bytes, the entries declare ${offset}; nothing was committed`, { key: this.key });
    }
    const unreadable = (err: unknown) =>
      new O3mlError("ABORTED", `save checkpoint ${this.key}: the staged file could not be read whole (${(err as Error).message}); was it changed during the save? Nothing was committed — save again`, { key: this.key });
    const whole = hashes.whole(file.fd, ranges).catch((err: unknown) => Promise.reject(unreadable(err)));
    // Lanes never reject: every task started has settled before this returns, so none
    // reads the file descriptor after the caller closes it (its number could be reused).
    // Reads run ahead of the uploads by at most the upload concurrency: memory stays
    // bounded by twice that many chunks.
    const cids = new Array<string>(cuts.length);
    let next = 0;
    let failure: unknown;
    const lane = async () => {
      while (failure === undefined && next < cuts.length) {
        const i = next++;
        const cut = cuts[i]!;
        try {
          const { digest, bytes } = await hashes.chunk(file.fd, cut.offset, cut.length).catch((err: unknown) => Promise.reject(unreadable(err)));
          cids[i] = cidOfDigest(digest);
          await this.blobs.write(cids[i]!, bytes);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, cuts.length) }, lane));
    const summary = await whole.catch((err: unknown) => void (failure ??= err));
    if (failure !== undefined || !summary) throw failure;
    cuts.forEach((cut, i) => this.chunks.push({ cid: cids[i]!, size: cut.length }));
    const { sha256, crcs } = summary;
    this.entries.forEach((entry, i) => (entry.crc32 = crcs[i]!));
    this.stagedSha256 = sha256;
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
    const staged = this.stagedSha256 !== undefined;
    return {
      entries: this.entries,
      chunks: this.chunks,
      size: staged ? this.entries.reduce((n, e) => n + e.nbytes, 0) : this.hash.bytes,
      sha256: this.stagedSha256 ?? this.hash.digest(),
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
