/** What a staged save learnt about one entry: its blobs, and the CRC-32 of its bytes. */
export interface RecalledEntry {
  cids: string[];
  sizes: number[];
  crc32: number;
  /** Set for a packed entry: its bytes start here in its pack, the one blob of `cids`. */
  offset?: number;
}

/** How many runs are remembered (least recently saved forgotten first). */
const RUNS = 256;
/** How many entries of one save are remembered at most. */
const ENTRIES = 200_000;

/**
 * For each run, the entries of its last staged save by their chunks' XXH3-128
 * digests, computed by this service from the staged bytes themselves. A later
 * save of the run whose client sends the same digests for an entry of the same
 * size gets that entry's blobs without sending, staging or hashing its bytes
 * (CheckpointService.Recall).
 *
 * Why a non-cryptographic digest is safe here: both sides hash the same kind of
 * bytes (the client its tensor memory, this service the file the same client
 * staged), so equal digests of different bytes would be a 2^-128 accident, not
 * something the data can cause; a client that forged a collision on purpose
 * would only give its own run's checkpoint the bytes of that same run's last
 * save, which it wrote itself, and only a client on this host that proved it
 * shares this service's files and user (AdminService.Colocate) is asked. Stored
 * CIDs stay sha2-256 of the bytes, and the blobs reused are checked to be in
 * the bucket before the commit, as for any deduplicated blob.
 */
export class RecallMemory {
  private readonly runs = new Map<string, Map<string, RecalledEntry>>();

  static keyOf(nbytes: number, digests: readonly Uint8Array[]): string {
    return `${nbytes}:${digests.map((d) => Buffer.from(d).toString("hex")).join(",")}`;
  }

  recall(run: string, nbytes: number, digests: readonly Uint8Array[]): RecalledEntry | undefined {
    return this.runs.get(run)?.get(RecallMemory.keyOf(nbytes, digests));
  }

  /** Replaces what is remembered of `run` with the entries of its newest staged save. */
  remember(run: string, entries: Map<string, RecalledEntry>): void {
    this.runs.delete(run);
    if (entries.size === 0 || entries.size > ENTRIES) return;
    this.runs.set(run, entries);
    for (const oldest of this.runs.keys()) {
      if (this.runs.size <= RUNS) break;
      this.runs.delete(oldest);
    }
  }
}
