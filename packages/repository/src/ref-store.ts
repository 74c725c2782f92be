import type { BlobStore } from "@o3ml/o3-client";
import { decodeRef, encodeRef, type Ref } from "@o3ml/integrity";
import { monotonicFactory } from "ulidx";
import { parseRefKey, refKey, refPrefix, refsRoot } from "./layout.js";

/** A ref with its sortable id (from its key), which events name (commit-order.ts). */
export type RefRecord = Ref & { id: string };

/** Refs remembered after a read or a write (a few hundred bytes each). */
const MAX_REMEMBERED_REFS = 100_000;

/**
 * Commit records. Writing a ref is the last step of every commit; refs are
 * never overwritten, and a name's newest ref (sortable-id order) is its value,
 * so "latest" needs no mutable pointer (O3 would keep every overwritten version).
 */
export class RefStore {
  private readonly ulid = monotonicFactory();
  private readonly decoded = new Map<string, RefRecord>();

  constructor(
    private readonly store: BlobStore,
    private readonly kind: string,
  ) {}

  /**
   * `before` runs with the new ref's sortable id right before the ref is
   * written, and a failure there writes no ref: a commit's event, which names
   * its ref (commit-order.ts).
   */
  async write(name: string, rec: { manifestCid: string; size: number; deleted?: boolean }, before?: (refId: string) => Promise<void>): Promise<RefRecord> {
    const id = this.ulid();
    const ref: RefRecord = {
      id,
      formatVersion: 1,
      kind: this.kind,
      name,
      manifestCid: rec.deleted ? "" : rec.manifestCid,
      deleted: !!rec.deleted,
      size: rec.deleted ? 0 : rec.size,
      createdUnixMs: Date.now(),
    };
    await before?.(id);
    const key = refKey(this.kind, name, id);
    const bytes = encodeRef(ref);
    await this.store.put(key, bytes);
    // Remembered as a read of it would be: a get or stat right after a put (this service's
    // commit) then costs its LIST alone, not a GET of the ref it has just written.
    this.remember(key, decodeRef(bytes));
    return ref;
  }

  /** The newest ref of `name`, or undefined when it never had one; `fromStore` skips the memory of refs read before. */
  async latest(name: string, opts: { fromStore?: boolean } = {}): Promise<RefRecord | undefined> {
    let last: string | undefined;
    for await (const o of this.store.list(refPrefix(this.kind, name))) last = o.key;
    if (last === undefined) return undefined;
    if (opts.fromStore) this.decoded.delete(last);
    return this.read(last);
  }

  /**
   * The ref stored at `key`. A ref key names one write and its bytes never
   * change (only gc removes them), so what was read or written once is
   * remembered: a listing or a lookup of a name costs its LIST, not a GET per
   * ref again.
   */
  async read(key: string): Promise<RefRecord> {
    const hit = this.decoded.get(key);
    if (hit) return { ...hit };
    return { ...this.remember(key, decodeRef(await this.store.get(key))) };
  }

  private remember(key: string, decoded: Ref): RefRecord {
    const parsed = parseRefKey(this.kind, key);
    const ref = { ...decoded, name: parsed?.name ?? decoded.name, id: parsed?.id ?? "" };
    // A bounded memory: when full, start over rather than grow without limit.
    if (this.decoded.size >= MAX_REMEMBERED_REFS) this.decoded.clear();
    this.decoded.set(key, ref);
    return ref;
  }

  /**
   * One page of names under `prefix` with the key of each name's newest ref,
   * in ref-key order, starting after the name `after`.
   */
  async page(prefix: string, after: string | undefined, limit: number): Promise<{ names: { name: string; refKey: string }[]; more: boolean }> {
    const out: { name: string; refKey: string }[] = [];
    // '~' sorts after every sortable-id character, so this skips all refs of `after`.
    let cursor = after === undefined ? undefined : `${refPrefix(this.kind, after)}~`;
    const listPrefix = refsRoot(this.kind) + prefix;
    for (;;) {
      const page = await this.store.listPage(listPrefix, { after: cursor, pageSize: 1000 });
      for (const o of page.objects) {
        const parsed = parseRefKey(this.kind, o.key);
        if (!parsed) continue;
        const last = out[out.length - 1];
        if (last && last.name === parsed.name) last.refKey = o.key;
        else if (out.length === limit) return { names: out, more: true };
        else out.push({ name: parsed.name, refKey: o.key });
      }
      if (!page.next) return { names: out, more: false };
      cursor = page.next;
    }
  }
}
