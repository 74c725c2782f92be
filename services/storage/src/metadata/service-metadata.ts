import { storeIdentity, type BlobStore } from "@o3ml/o3-client";
import { openIndex, type MetadataIndex } from "@o3ml/metadata";
import { newEvent, type EventInput, type EventOf, type EventType, type MetadataEvent, BucketEventLog } from "@o3ml/repository";
import { rebuildLiveIndex, type LiveRebuildResult } from "./live-rebuild.js";

/**
 * The service's view of metadata: the bucket's event log (record of truth)
 * and the index built from it (SQLite in O3ML_HOME, or PostgreSQL from
 * O3ML_DATABASE_URL), confined to this store's records: the index may also
 * hold other buckets' (one O3ML_HOME used with several), which this service
 * never sees or uses.
 */
export class ServiceMetadata {
  readonly log: BucketEventLog;
  private readonly watchers = new Set<(event: MetadataEvent) => void>();
  /** Rebuilds run one at a time: two replacing the index at once would each undo the other's catch-up. */
  private rebuilding: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly index: MetadataIndex,
    private readonly store: BlobStore,
  ) {
    this.log = new BucketEventLog(store);
  }

  /**
   * `standin`: the store is the embedded stand-in, whose objects live only
   * in its memory. Its index then lives only in this process's memory too:
   * in O3ML_HOME or a shared database its records would outlive the objects
   * they describe, and a later stand-in on the same port would have the same
   * identity and be shown them.
   */
  static async open(store: BlobStore, home: string, opts: { standin?: boolean; databaseUrl?: string } = {}): Promise<ServiceMetadata> {
    const databaseUrl = opts.databaseUrl ?? process.env.O3ML_DATABASE_URL;
    const index = await openIndex({ store: storeIdentity(store.endpoint, store.bucket), memory: opts.standin, home, databaseUrl: databaseUrl || undefined });
    return new ServiceMetadata(index, store);
  }

  /**
   * Writes the event to the bucket's log, then applies it to the index (the
   * order every writer must keep: see `recordEvent` in @o3ml/metadata).
   * A commit's event goes through `append` and `publish` instead, with its
   * ref between them (commit-order.ts).
   */
  async record<T extends EventType>(type: T, data: EventInput<T>): Promise<EventOf<T>> {
    const event = await this.append(type, data);
    await this.publish(event);
    return event;
  }

  /** Writes the event to the bucket's log only; `publish` applies it. */
  async append<T extends EventType>(type: T, data: EventInput<T>): Promise<EventOf<T>> {
    const event = newEvent(type, data);
    await this.log.append(event);
    return event;
  }

  /** Applies an event already in the bucket's log to the index. */
  async publish(event: MetadataEvent): Promise<void> {
    // A rebuild in progress re-applies what is recorded meanwhile, so its replacement of the index cannot hide it.
    for (const watch of this.watchers) watch(event);
    await this.index.apply(event);
  }

  /** Recreates the index from the bucket's log while the service keeps serving (see live-rebuild.ts). */
  rebuild(warn: (message: string) => void): Promise<LiveRebuildResult> {
    const run = this.rebuilding.then(() => rebuildLiveIndex(this.index, this.store, (fn) => this.watch(fn), warn));
    this.rebuilding = run.catch(() => undefined);
    return run;
  }

  private watch(fn: (event: MetadataEvent) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  async close(): Promise<void> {
    await this.index.close();
  }
}
