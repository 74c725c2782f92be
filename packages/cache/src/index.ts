/**
 * @o3ml/cache: the local content-addressed blob cache shared by every o3ml
 * process of a host. See README.md for its terms and contracts.
 */
export { BlobCache, type BlobCacheOptions, type BlobSource, type BlobFiller, type CacheLease, type AcquireOptions } from "./blob-cache.js";
export { openEntrySink, writeVerifiedFile, type EntrySink } from "./entry-writer.js";
export { cacheBytesFromEnv, parseByteSize, DEFAULT_CACHE_BYTES } from "./cache-size.js";
export { EMPTY_BLOB_CID } from "./cache-scan.js";
