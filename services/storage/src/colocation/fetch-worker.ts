/**
 * The fetch task of the fetch pool (fetch-pool.ts): one blob from the store
 * into the host cache, on a worker thread. Receiving the body, its sha2-256
 * and the file writes all happen here, so a restore uses a core beside the
 * event loop's instead of sharing the event loop's.
 */
import { openEntrySink, writeVerifiedFile } from "@o3ml/cache";
import { O3mlError, type ErrorCodeName, type ErrorDetails } from "@o3ml/errors";
import type { BlobStore, O3Config } from "@o3ml/o3-client";
import { socketGetter } from "@o3ml/o3-client/socket-get";
import { workerData } from "piscina";

/** What the pool hands every thread: the service's own store configuration. */
export interface FetchWorkerData {
  config: O3Config;
}

export interface FetchTask {
  cid: string;
  /** The blob's object key (layout.ts's blobKey). */
  key: string;
  /** Where the bytes go while they arrive, and the entry they become once verified. */
  tmp: string;
  entry: string;
  /** The blob's origin, for the INTEGRITY message. */
  what: string;
}

/**
 * An error crosses the thread boundary as plain data (structured clone keeps
 * neither the class nor the code of an O3mlError), and is rebuilt there.
 */
export type FetchResult = ({ size: number } | { error: { code: ErrorCodeName; message: string; details: ErrorDetails } }) & {
  /** Bytes received from the store, whole or not, for the service's metrics. */
  received: number;
  /** Why the body was not read into the reused buffer (socket-get.ts) and the SDK fetched it instead, if it was not. */
  fallback?: string;
};

// Where the endpoint allows, bodies are read into a reused buffer and written as they arrive:
// a fraction of the SDK's CPU per byte (socket-get.ts says why and where it applies).
const direct = socketGetter((workerData as FetchWorkerData).config);
// One S3 client per thread, built by the same function from the same configuration as the
// service's own store: endpoint, credentials, O3 profile and retry policy are the service's. Made
// on the first fetch that needs it, and only then is the AWS SDK loaded: where every body is read
// directly, a thread costs no SDK (about 0.2 CPU-s to load, tens of MiB of heap).
let store: Promise<BlobStore> | undefined;
const sdkStore = () => (store ??= import("@o3ml/o3-client").then((c) => c.createBlobStore((workerData as FetchWorkerData).config)));

export default async function run(task: FetchTask): Promise<FetchResult> {
  let received = 0;
  let fallback: string | undefined;
  if (direct) {
    try {
      const sink = openEntrySink(task.tmp, task.entry, task.cid, task.what);
      let got: number | undefined;
      try {
        got = await direct.get(task.key, (piece) => {
          received += piece.byteLength;
          sink.write(piece);
        });
      } catch (err) {
        await sink.abort();
        throw err;
      }
      // finish() removes the file itself when the bytes do not match the CID.
      if (got !== undefined) return { size: await sink.finish(), received };
      await sink.abort();
      fallback = "the store's answer was not a plain 200 with a Content-Length";
    } catch (err) {
      // Whatever went wrong (a cut connection, damaged bytes, a full disk), the SDK's GET below
      // tries again with its retries, and names the error if it is real.
      fallback = err instanceof Error ? err.message : String(err);
    }
  }
  async function* counted(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const piece of body) {
      received += piece.byteLength;
      yield piece;
    }
  }
  try {
    const size = await writeVerifiedFile(task.tmp, task.entry, task.cid, counted(await (await sdkStore()).getStream(task.key)), task.what);
    return { size, received, ...(fallback !== undefined ? { fallback } : {}) };
  } catch (err) {
    const e = O3mlError.from(err);
    return { error: { code: e.code, message: e.message, details: e.details }, received, ...(fallback !== undefined ? { fallback } : {}) };
  }
}
