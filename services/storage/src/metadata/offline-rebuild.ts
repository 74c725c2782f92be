import { O3mlError } from "@o3ml/errors";
import { openIndex, rebuildIndex, type IndexCounts } from "@o3ml/metadata";
import { configFromEnv, createBlobStore, storeIdentity } from "@o3ml/o3-client";
import { logObjects } from "./log-objects.js";

export interface OfflineRebuildResult {
  objects: number;
  applied: number;
  skipped: number;
  counts: IndexCounts;
  durationMs: number;
  /** The SQLite file, or the PostgreSQL URL without its password. */
  location: string;
  /** The bucket read, as `endpoint/bucket`. */
  source: string;
}

/**
 * `o3ml index rebuild --offline`: recreates the index with no service
 * running, reading the bucket straight from the configured endpoint
 * (O3ML_ENDPOINT and keys). A SQLite index is recreated from scratch (the
 * previous file is kept beside it as `index.sqlite.<time>.bak`), so a damaged
 * or too-new index is no obstacle; PostgreSQL is emptied and refilled.
 */
export async function rebuildIndexOffline(warn: (message: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<OfflineRebuildResult> {
  const started = Date.now();
  const config = configFromEnv(env);
  if (!config.endpoint) {
    throw new O3mlError(
      "FAILED_PRECONDITION",
      "index rebuild --offline reads the bucket directly, but O3ML_ENDPOINT is not set (the embedded stand-in keeps nothing between runs); set O3ML_ENDPOINT, O3ML_ACCESS_KEY_ID, O3ML_SECRET_ACCESS_KEY and O3ML_BUCKET, or run `o3ml index rebuild` against a running service",
    );
  }
  const store = createBlobStore(config);
  try {
    await store.ensureBucket({ create: false });
    const index = await openIndex({ store: storeIdentity(store.endpoint, store.bucket), env, recreate: true });
    try {
      const result = await rebuildIndex(index, logObjects(store), warn);
      return {
        objects: result.objects,
        applied: result.applied,
        skipped: result.skipped,
        counts: await index.counts(),
        durationMs: Date.now() - started,
        location: index.location,
        source: `${config.endpoint}/${config.bucket}`,
      };
    } finally {
      await index.close();
    }
  } finally {
    store.close();
  }
}
