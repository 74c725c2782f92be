import { crc32 } from "node:zlib";
import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import { cidOf, createSha256, fixedChunker, type CheckpointEntry, type ChunkEntry, type Chunker } from "@o3ml/integrity";
import { BlobWriter } from "../blob-writer.js";
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

  constructor(
    store: BlobStore,
    known: KnownBlobs,
    readonly lease: BlobLease,
    private readonly key: string,
    opts: { chunkSize: number; uploadConcurrency: number },
  ) {
    this.blobs = new BlobWriter(store, known, opts.uploadConcurrency, lease);
    this.chunker = fixedChunker(opts.chunkSize);
  }

  /** Entries announced so far (for checking the next one). */
  get previous(): readonly EntryAnnouncement[] {
    return this.announced;
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
      size: this.hash.bytes,
      sha256: this.hash.digest(),
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
