import type { BlobStore } from "@o3ml/o3-client";
import { encodeEvent, eventKey, type EventLog, type MetadataEvent } from "@o3ml/repository";

/** The append-only metadata log in the bucket: one immutable object per event. */
export class BucketEventLog implements EventLog {
  constructor(private readonly store: BlobStore) {}

  async append(event: MetadataEvent): Promise<void> {
    await this.store.put(eventKey(event.id), encodeEvent(event));
  }
}
