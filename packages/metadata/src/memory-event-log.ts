import { encodeEvent, eventKey, type EventLog, type MetadataEvent } from "@o3ml/repository";

/** One stored event object, as the bucket lists it. */
export interface LogObject {
  key: string;
  bytes: Uint8Array;
}

/**
 * An EventLog kept in memory, with the bucket's semantics: one immutable
 * object per event id (a repeated append is ignored) and listing in key
 * order. For tests and for tools that stage events before a rebuild.
 */
export class MemoryEventLog implements EventLog {
  readonly #objects = new Map<string, Uint8Array>();

  async append(event: MetadataEvent): Promise<void> {
    const key = eventKey(event.id);
    if (!this.#objects.has(key)) this.#objects.set(key, encodeEvent(event));
  }

  /** Stores raw bytes under a key, e.g. a damaged object a test wants the rebuild to meet. */
  putRaw(key: string, bytes: Uint8Array): void {
    this.#objects.set(key, bytes);
  }

  get size(): number {
    return this.#objects.size;
  }

  /** Every object, in key order (which is event-id order, which is time order). */
  async *list(): AsyncGenerator<LogObject> {
    const keys = [...this.#objects.keys()].sort();
    for (const key of keys) yield { key, bytes: this.#objects.get(key)! };
  }
}
