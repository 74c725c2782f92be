import { O3mlError } from "@o3ml/errors";
import { extract, pack, type Pack } from "tar-stream";

/**
 * Tar archives as shards hold them, written by tar-stream: ustar headers
 * (a PAX header before a member whose name is not ASCII or too long for
 * ustar, and base-256 sizes past 8 GiB), readable by `tar`, Python's tarfile
 * and WebDataset. Every header says mode 0644, owner 0:0 and mtime 0, and
 * nothing else varies, so the same samples always make the same bytes and
 * therefore the same CID.
 */
const HEADER = { mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), type: "file" } as const;
const BLOCK = 512;

/** Two zero blocks end an archive: what tar-stream's finalize writes, and what a shard ends with. */
export const TAR_END = new Uint8Array(2 * BLOCK);

export interface TarMember {
  name: string;
  size: number;
  /** Exactly `size` bytes; an error thrown here ends the archive with that error. */
  content: () => AsyncIterable<Uint8Array>;
}

/**
 * Bytes a member takes in an archive: a header block, the content and its
 * padding to a whole block. A name that needs a PAX header takes at least two
 * blocks more, which this leaves out: it only decides when a shard is full,
 * and such a shard may pass its target size by those blocks.
 */
export const memberLength = (size: number) => BLOCK + size + ((BLOCK - (size % BLOCK)) % BLOCK);

/**
 * The archive of `members`, in order, without its end blocks: the run of
 * bytes a sample takes in a shard, where such runs follow each other and
 * TAR_END closes the file.
 */
export async function* tarMembers(members: TarMember[]): AsyncGenerator<Uint8Array> {
  const archive = pack();
  const writing = writeMembers(archive, members).then(
    () => archive.finalize(),
    (err: unknown) => archive.destroy(err as Error),
  );
  // The last TAR_END bytes are held back as they come, then dropped: they are the end blocks.
  const held: Uint8Array[] = [];
  let heldBytes = 0;
  for await (const chunk of archive as AsyncIterable<Uint8Array>) {
    held.push(chunk);
    heldBytes += chunk.byteLength;
    while (heldBytes - held[0]!.byteLength >= TAR_END.byteLength) {
      const out = held.shift()!;
      heldBytes -= out.byteLength;
      yield out;
    }
  }
  await writing;
  const tail = Buffer.concat(held);
  const end = tail.subarray(tail.byteLength - TAR_END.byteLength);
  if (tail.byteLength < TAR_END.byteLength || end.some((b) => b !== 0)) {
    throw new O3mlError("INTERNAL", `tar-stream ended an archive with ${tail.byteLength} bytes that are not ${TAR_END.byteLength} zero bytes`);
  }
  if (tail.byteLength > TAR_END.byteLength) yield tail.subarray(0, tail.byteLength - TAR_END.byteLength);
}

async function writeMembers(archive: Pack, members: TarMember[]): Promise<void> {
  for (const m of members) {
    await new Promise<void>((resolve, reject) => {
      const sink = archive.entry({ ...HEADER, name: m.name, size: m.size }, (err) => (err ? reject(err) : resolve()));
      sink.on("error", () => {}); // destroying the entry destroys the archive with its error, which the archive's reader gets
      void (async () => {
        for await (const piece of m.content()) {
          if (sink.destroyed) return;
          if (!sink.write(piece)) await drained(sink);
        }
        sink.end(undefined);
      })().catch((err: unknown) => sink.destroy(err as Error));
    });
  }
}

/** A member found by TarListing: its name, and the offset of its (last) header in the archive. */
export interface ListedMember {
  name: string;
  offset: number;
}

/**
 * The members of an archive whose bytes are fed in as they stream past, read
 * by tar-stream (headers checked, PAX names applied, contents skipped).
 */
export class TarListing {
  readonly members: ListedMember[] = [];
  private readonly reader = extract();
  private failure: Error | undefined;
  private readonly closed: Promise<void>;

  constructor() {
    this.reader.on("entry", (header, stream, next) => {
      this.members.push({ name: header.name, offset: stream.offset });
      stream.on("end", () => next());
      stream.resume();
    });
    this.reader.on("error", (err: Error) => (this.failure ??= err));
    this.closed = new Promise((resolve) => this.reader.on("close", () => resolve()));
  }

  /** Feeds the next bytes, waiting while the reader is behind; bytes after a failure are ignored. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.reader.destroyed) return;
    if (!this.reader.write(chunk)) await drained(this.reader);
  }

  /** Ends the input; resolves to why the bytes are not a readable archive, or undefined. */
  async end(): Promise<Error | undefined> {
    if (!this.reader.destroyed) this.reader.end(undefined);
    await this.closed;
    return this.failure;
  }
}

/** Resolves when a tar-stream buffer has room again, or when the stream was given up (its reader stopped, or it failed). */
function drained(sink: { on(event: "drain" | "close", fn: () => void): unknown; off(event: "drain" | "close", fn: () => void): unknown }): Promise<void> {
  return new Promise((go) => {
    const done = () => {
      sink.off("drain", done);
      sink.off("close", done);
      go();
    };
    sink.on("drain", done);
    sink.on("close", done);
  });
}
