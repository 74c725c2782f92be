import { mapLimit, type BlobStore } from "@o3ml/o3-client";
import { decodeRef, encodeRef } from "@o3ml/integrity";
import { monotonicFactory } from "ulidx";
import { parsePinKey, pinKey, PINS_ROOT } from "@o3ml/repository";

/**
 * Pins of checkpoints, kept in the bucket (layout.ts, `pinKey`) so that every
 * service on it sees them and an index rebuild cannot lose them. Like refs,
 * a pin object is written once and never overwritten (O3 would keep every
 * version); pinning and unpinning each add one, and the newest is the state.
 * A pin is written only after its checkpoint is committed (the caller checks
 * it exists), the way a ref is written only after what it names.
 */
export class CheckpointPins {
  private readonly ulid = monotonicFactory();

  constructor(private readonly store: BlobStore) {}

  /** Records that checkpoint `id` is pinned (or no longer is). */
  async set(id: string, pinned: boolean): Promise<void> {
    const record = encodeRef({ kind: "pins", name: id, manifestCid: pinned ? id : undefined, deleted: !pinned, createdUnixMs: Date.now() });
    await this.store.put(pinKey(id, this.ulid()), record);
  }

  /** The ids of every pinned checkpoint: one LIST of the pins, then one GET per checkpoint ever pinned. */
  async pinned(): Promise<Set<string>> {
    const newest = new Map<string, string>();
    // Keys list in order and the sortable ids grow, so the last key of a checkpoint is its newest.
    for await (const o of this.store.list(PINS_ROOT)) {
      const id = parsePinKey(o.key);
      if (id) newest.set(id, o.key);
    }
    const states = await mapLimit([...newest], 16, async ([id, key]) => ({ id, pinned: !decodeRef(await this.store.get(key)).deleted }));
    return new Set(states.filter((s) => s.pinned).map((s) => s.id));
  }
}
