import { isO3mlError, O3mlError } from "@o3ml/errors";
import { openIndex, rebuildIndex, type IndexCounts, type MetadataIndex } from "@o3ml/metadata";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { configFromEnv, createBlobStore, storeIdentity } from "@o3ml/o3-client";
import { localStoreDir, localStoreEndpoint } from "../home.js";
import { landedRefs, logObjects } from "@o3ml/repository";

export interface OfflineRebuildResult {
  objects: number;
  applied: number;
  skipped: number;
  /** Commit and deletion events left out: their ref change is not in the bucket (stopped before its commit point). */
  unlanded: number;
  counts: IndexCounts;
  durationMs: number;
  /** The SQLite file, or the PostgreSQL URL without its password. */
  location: string;
  /** The bucket read, as `endpoint/bucket`. */
  source: string;
}

/**
 * `o3ml index rebuild --offline`: recreates this store's records in the index
 * with no service running, reading the bucket straight from the configured
 * endpoint (O3ML_ENDPOINT and keys), or, when none is set, from the folder
 * `o3ml serve` keeps its data in then (`$O3ML_HOME/store`, home.ts). Records
 * the index holds of other stores (other buckets used with the same O3ML_HOME
 * or database) stay as they are.
 */
export async function rebuildIndexOffline(warn: (message: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<OfflineRebuildResult> {
  const started = Date.now();
  const config = configFromEnv(env);
  if (!config.endpoint) {
    // The default store of `o3ml serve`: a folder that outlives the service, so it can be read without one.
    const folder = join(localStoreDir(env), config.bucket);
    if (!existsSync(folder)) {
      throw new O3mlError(
        "FAILED_PRECONDITION",
        `index rebuild --offline reads the bucket directly, but O3ML_ENDPOINT is not set and ${folder} (where \`o3ml serve\` keeps bucket ${config.bucket} when no endpoint is set) does not exist; ` +
          "set O3ML_HOME (and O3ML_BUCKET) to those the service ran with, or set O3ML_ENDPOINT, O3ML_ACCESS_KEY_ID, O3ML_SECRET_ACCESS_KEY and O3ML_BUCKET for a store of your own",
        { path: folder },
      );
    }
    config.endpoint = localStoreEndpoint(env);
  }
  const store = createBlobStore(config);
  try {
    await store.ensureBucket({ create: false });
    const identity = storeIdentity(store.endpoint, store.bucket);
    const rebuildIn = async (index: MetadataIndex) => {
      try {
        // Commit events count only once their ref is in the bucket (commit-order.ts).
        const result = await rebuildIndex(index, logObjects(store), warn, { refs: () => landedRefs(store) });
        return { ...result, counts: await index.counts(), location: index.location };
      } finally {
        await index.close();
      }
    };
    let done: Awaited<ReturnType<typeof rebuildIn>>;
    try {
      done = await rebuildIn(await openIndex({ store: identity, env }));
    } catch (err) {
      if (!unusableSqliteIndex(err, env)) throw err;
      warn(
        `${err.message}. Moving it aside and starting a new index: it holds this bucket's records only; ` +
          "the records of other buckets indexed there come back with `o3ml index rebuild` against each",
      );
      done = await rebuildIn(await openIndex({ store: identity, env, recreate: true }));
    }
    return {
      objects: done.objects,
      applied: done.applied,
      skipped: done.skipped,
      unlanded: done.unlanded.length,
      counts: done.counts,
      durationMs: Date.now() - started,
      location: done.location,
      source: `${config.endpoint}/${config.bucket}`,
    };
  } finally {
    store.close();
  }
}

/**
 * A SQLite index that cannot be used (a damaged file, or one a newer o3ml
 * wrote) is no obstacle to a rebuild: it is moved aside (kept as
 * `index.sqlite.<time>.bak`) and a new one started. Errors about the index
 * itself name it (`path` or `where` in their details: database-errors.ts,
 * migrate.ts); one about the log, such as an event in a newer format, does
 * not, and moving the index aside would not help it. The records of other
 * stores the old file held are then only in the kept file.
 */
function unusableSqliteIndex(err: unknown, env: NodeJS.ProcessEnv): err is O3mlError {
  if (env.O3ML_DATABASE_URL?.trim() || !isO3mlError(err, "FAILED_PRECONDITION")) return false;
  return "path" in err.details || "where" in err.details;
}
