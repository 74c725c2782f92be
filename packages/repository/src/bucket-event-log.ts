import type { BlobStore } from "@o3ml/o3-client";
import { encodeEvent } from "./events.js";
import type { MetadataEvent } from "./event-types.js";
import type { EventLog } from "./event-writer.js";
import { eventKey } from "./layout.js";

/** The append-only metadata log in the bucket: one immutable object per event. */
export class BucketEventLog implements EventLog {
  constructor(private readonly store: BlobStore) {}

  async append(event: MetadataEvent): Promise<void> {
    await this.store.put(eventKey(event.id), encodeEvent(event));
  }
}
