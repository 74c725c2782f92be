import { randomUUID } from "node:crypto";
import { O3mlError } from "@o3ml/errors";
import type { CacheLease } from "@o3ml/cache";

/**
 * The cache files handed to co-located clients by Fetch, by lease id, until
 * Release. A lease ends at Release or when the service stops (its pins go
 * with its process), never by time: a trainer may read one shard for long.
 */
export class BlobLeases {
  private readonly leases = new Map<string, CacheLease>();

  add(lease: CacheLease): string {
    const id = randomUUID();
    this.leases.set(id, lease);
    return id;
  }

  async release(id: string): Promise<void> {
    const lease = this.leases.get(id);
    if (!lease) {
      throw new O3mlError("NOT_FOUND", `lease ${JSON.stringify(id)} is not held by this service: it was released already, or the service restarted; Fetch the blob again`, {
        lease: id,
      });
    }
    this.leases.delete(id);
    await lease.release();
  }

  get size(): number {
    return this.leases.size;
  }

  async releaseAll(): Promise<void> {
    const all = [...this.leases.values()];
    this.leases.clear();
    await Promise.all(all.map((l) => l.release()));
  }
}
