import { fakeRootCid } from "./fake-root-cid.js";

/** The headers Akave O3 adds to HeadObject responses. */
export interface NetworkHeaders {
  "Network-State": "pending" | "done";
  "Network-Root-Cid"?: string;
}

/**
 * Reproduces O3's two-stage write: a PUT is acknowledged once the gateway has
 * the data (the object is readable at once), and only some time later is the
 * data on the Akave network. HeadObject reports `Network-State: pending`
 * for `delayMs` after the object was written through this layer, then
 * `done` together with `Network-Root-Cid`. Objects this layer has not seen
 * written (written before it started, or straight to the upstream) are `done`.
 */
export class NetworkState {
  // Insertion-ordered by write time, so expired entries are pruned from the front.
  private readonly written = new Map<string, number>();

  constructor(private readonly delayMs: number) {}

  recordWrite(bucket: string, key: string, now = Date.now()): void {
    const id = `${bucket}\0${key}`;
    this.written.delete(id);
    this.written.set(id, now);
    this.prune(now);
  }

  headers(bucket: string, key: string, etag: string, now = Date.now()): NetworkHeaders {
    const at = this.written.get(`${bucket}\0${key}`);
    if (at !== undefined && now - at < this.delayMs) return { "Network-State": "pending" };
    return { "Network-State": "done", "Network-Root-Cid": fakeRootCid(bucket, key, etag) };
  }

  private prune(now: number): void {
    for (const [id, at] of this.written) {
      if (now - at < this.delayMs) break;
      this.written.delete(id);
    }
  }
}
