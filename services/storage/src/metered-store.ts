import { Readable } from "node:stream";
import type { BlobStore, GetOptions, PutOptions, RequestCounter } from "@o3ml/o3-client";
import type { ServiceMetrics } from "./metrics.js";

/**
 * A BlobStore wrapper that counts bytes to and from the store, so that
 * dedup and traffic can be read off /metrics (restic-style: features are
 * wrappers around the one storage interface). Requests are counted where
 * they are sent, every page and retry included (`requestCounter`, given to
 * createBlobStore): a call here may be many requests, or none.
 */
export function meteredStore(inner: BlobStore, m: ServiceMetrics): BlobStore {
  return {
    endpoint: inner.endpoint,
    bucket: inner.bucket,
    async put(key: string, body: Uint8Array, opts?: PutOptions) {
      await inner.put(key, body, opts);
      m.storeBytesWritten.inc(body.byteLength);
    },
    async putStream(key, body, opts) {
      const r = await inner.putStream(key, body, opts);
      m.storeBytesWritten.inc(r.size);
      return r;
    },
    async get(key: string, opts?: GetOptions) {
      const bytes = await inner.get(key, opts);
      m.storeBytesRead.inc(bytes.byteLength);
      return bytes;
    },
    async getStream(key: string, opts?: GetOptions): Promise<Readable> {
      const s = await inner.getStream(key, opts);
      // Counted as the consumer pulls: a 'data' listener would switch the
      // stream to flowing mode and drop what arrives before the consumer reads.
      async function* counted(): AsyncGenerator<Uint8Array> {
        for await (const b of s as AsyncIterable<Uint8Array>) {
          m.storeBytesRead.inc(b.byteLength);
          yield b;
        }
      }
      return Readable.from(counted(), { objectMode: false });
    },
    head: (key) => inner.head(key),
    listPage: (prefix, opts) => inner.listPage(prefix, opts),
    list: (prefix) => inner.list(prefix),
    delete: (key) => inner.delete(key),
    listVersions: (prefix) => inner.listVersions(prefix),
    deleteVersion: (key, versionId) => inner.deleteVersion(key, versionId),
    ensureBucket: (opts) => inner.ensureBucket(opts),
    capabilities: () => inner.capabilities(),
    close: () => inner.close(),
  };
}

/** Counts each request the store is sent under its operation (o3ml_store_requests_total). */
export function requestCounter(m: ServiceMetrics): RequestCounter {
  return (op) => m.storeRequests.inc({ op });
}
