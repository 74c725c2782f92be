import { unlink, writeFile } from "node:fs/promises";
import { pinPath } from "./cache-names.js";

let instances = 0;

/**
 * The pins of one cache instance: a count per CID in memory, mirrored by one
 * pin file `<cid>.pin.<pid>.<instance>` while the count is above zero, so
 * that other processes (and other instances here) see the entry is in use.
 * File operations of one CID run one after another, so the file always ends
 * up matching the count even when pins and releases overlap.
 */
export class PinTable {
  private readonly counts = new Map<string, number>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly instance = ++instances;

  constructor(private readonly dir: string) {}

  get size(): number {
    return this.counts.size;
  }

  holds(cid: string): boolean {
    return (this.counts.get(cid) ?? 0) > 0;
  }

  /** Resolves once the pin file exists. */
  async pin(cid: string): Promise<void> {
    const n = (this.counts.get(cid) ?? 0) + 1;
    this.counts.set(cid, n);
    await this.sync(cid);
  }

  async unpin(cid: string): Promise<void> {
    const n = (this.counts.get(cid) ?? 0) - 1;
    if (n > 0) this.counts.set(cid, n);
    else this.counts.delete(cid);
    await this.sync(cid);
  }

  async clear(): Promise<void> {
    const cids = [...this.counts.keys()];
    this.counts.clear();
    await Promise.all(cids.map((cid) => this.sync(cid)));
  }

  /** Queues a file operation that makes the pin file match the count at the time it runs. */
  private sync(cid: string): Promise<void> {
    const path = pinPath(this.dir, cid, process.pid, this.instance);
    const prev = this.queues.get(cid) ?? Promise.resolve();
    const next = prev.then(async () => {
      if (this.holds(cid)) await writeFile(path, "");
      else await unlink(path).catch(() => undefined);
    });
    const tail = next.catch(() => undefined);
    this.queues.set(cid, tail);
    void tail.then(() => {
      if (this.queues.get(cid) === tail) this.queues.delete(cid);
    });
    return next;
  }
}
