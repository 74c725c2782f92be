import type { CheckpointEntry, ChunkEntry } from "@o3ml/integrity";
import xxhash from "xxhash-addon";

/**
 * Entries up to this size are packed: stored with the checkpoint's other small entries in one
 * blob (a pack, packages/integrity/src/checkpoint-table.ts). Every blob is a store object, and a
 * store commits, indexes and syncs each object on its own: a ResNet-50's 481 entries (411 of
 * them 256 KiB or less, 445 at most 1 MiB) were 481 PUTs to save and 481 GETs to load, which cost
 * MinIO more CPU than the bytes did. Larger entries keep blobs of their own, so an unchanged large
 * tensor is still deduplicated by its CID alone.
 */
export const PACK_ENTRY_BYTES = 1024 * 1024;

/** Most entries in one pack: bounds a pack's bookkeeping (a model's scalars are 8 bytes each). */
const PACK_ENTRIES = 4096;

/**
 * One entry name in this many ends its pack, whatever the sizes: a pack is then the entries
 * between two such names (about 16), so a change to one small tensor re-stores its own pack and
 * the others keep their bytes, and their CIDs, from save to save and from run to run (dedup by
 * blob). Names, not contents, decide, so that changed bytes never move a boundary.
 */
const PACK_SPLIT = 16n;

/**
 * Whether an entry is packed, for a service cutting blobs of `chunkSize`: a storage of at most
 * PACK_ENTRY_BYTES and half a chunk. Never the skeleton: it changes with every save (the step,
 * the loops' state), and would take its pack's tensors with it.
 */
export function packable(e: { kind: string; nbytes: number }, chunkSize: number): boolean {
  return e.kind === "storage" && e.nbytes > 0 && e.nbytes <= Math.min(PACK_ENTRY_BYTES, chunkSize / 2);
}

/** Whether the pack holding entry `name` ends after it (see PACK_SPLIT). */
function endsPack(name: string): boolean {
  // XXH3-64, the digest's canonical (big-endian) bytes read as the number.
  return xxhash.XXHash3.hash(Buffer.from(name, "utf8")).readBigUInt64BE() % PACK_SPLIT === 0n;
}

/** Where a packable entry goes: pack number `pack`, at `offset`. */
export interface PackPlace {
  pack: number;
  offset: number;
}

/**
 * Assigns packable entries to packs in the order they come: an entry joins the open pack while it
 * fits within `capacity` bytes (the chunk size) and the entry before it did not end the pack
 * (PACK_SPLIT), else opens the next. Deterministic, so the same entries give the same packs, and
 * the same blobs, on every path (streamed or staged).
 */
export class PackPlan {
  /** The open pack's number (-1: none yet), its bytes and its entries so far. */
  private open = -1;
  private bytes = 0;
  private entries = 0;
  private ended = false;

  constructor(private readonly capacity: number) {}

  /** Places an entry; `closed` is the pack the entry's arrival closed, if it did. */
  place(e: { name: string; nbytes: number }): PackPlace & { closed?: number } {
    const ended = this.ended;
    this.ended = endsPack(e.name);
    if (this.open < 0 || ended || this.bytes + e.nbytes > this.capacity || this.entries >= PACK_ENTRIES) {
      const closed = this.open;
      this.open++;
      this.bytes = e.nbytes;
      this.entries = 1;
      return { pack: this.open, offset: 0, ...(closed >= 0 ? { closed } : {}) };
    }
    const offset = this.bytes;
    this.bytes += e.nbytes;
    this.entries++;
    return { pack: this.open, offset };
  }
}

/** Where an entry's bytes went: blobs of its own, a range of a new pack, or a range of a stored pack. */
export type Placement = { own: ChunkEntry[] } | { pack: number; offset: number } | { stored: ChunkEntry; offset: number };

/**
 * The table's entries and the manifest's chunk list from each entry's placement, in the order
 * packages/integrity/src/checkpoint-table.ts requires (chunks in order of first use; a pack named
 * once, however many entries it holds). `packs[p]` is new pack p's blob.
 */
export function layOut(
  entries: readonly Omit<CheckpointEntry, "firstChunk" | "chunkCount">[],
  placements: readonly Placement[],
  packs: readonly ChunkEntry[],
): { entries: CheckpointEntry[]; chunks: ChunkEntry[] } {
  const chunks: ChunkEntry[] = [];
  const packAt = new Map<string, number>();
  const packChunk = (c: ChunkEntry) => {
    let at = packAt.get(c.cid);
    if (at === undefined) {
      at = chunks.push(c) - 1;
      packAt.set(c.cid, at);
    }
    return at;
  };
  const out = entries.map((e, i): CheckpointEntry => {
    const p = placements[i]!;
    if ("own" in p) {
      const firstChunk = chunks.length;
      chunks.push(...p.own);
      return { ...e, firstChunk, chunkCount: p.own.length };
    }
    const chunk = "stored" in p ? p.stored : packs[p.pack]!;
    return { ...e, firstChunk: packChunk(chunk), chunkCount: 1, packed: true, offset: p.offset };
  });
  return { entries: out, chunks };
}
