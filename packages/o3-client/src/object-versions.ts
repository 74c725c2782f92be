import { DeleteObjectCommand, ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import type { ObjectVersion } from "./blob-store.js";
import { s3Call, type S3Target } from "./s3-target.js";

/**
 * Removes every version and delete marker of exactly `key` and returns how
 * many there were. On a versioned bucket (Akave O3 always is) a DeleteObject
 * without VersionId only stacks a delete marker on top and frees nothing.
 *
 * ListObjectVersions takes a prefix, not a key, so the listing under `key`
 * is filtered to the exact key and stops at the first other key. Versions
 * are deleted one by one: a key rarely has more than a few, and DeleteObject
 * needs neither a body checksum nor per-entry error handling as DeleteObjects does.
 */
export async function deleteEveryVersion(target: S3Target, key: string, signal?: AbortSignal): Promise<number> {
  let removed = 0;
  for await (const v of listVersions(target, key, signal)) {
    // Every other key under the prefix `key` sorts after `key` itself.
    if (v.key !== key) break;
    await s3Call(target, "deleting a version of", key, () =>
      target.client.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: key, VersionId: v.versionId }), { abortSignal: signal }),
    );
    removed++;
  }
  return removed;
}

/**
 * Every version and delete marker under `prefix`, page by page, in key
 * order (within a key, as the server lists them: newest first on S3).
 */
export async function* listVersions(target: S3Target, prefix: string, signal?: AbortSignal): AsyncIterable<ObjectVersion> {
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3Call(target, "listing versions under", prefix, () =>
      target.client.send(
        new ListObjectVersionsCommand({ Bucket: target.bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
        { abortSignal: signal },
      ),
    );
    const entries: ObjectVersion[] = [];
    for (const v of page.Versions ?? []) {
      if (v.Key === undefined || !v.Key.startsWith(prefix)) continue;
      entries.push({ key: v.Key, versionId: v.VersionId ?? "null", deleteMarker: false, size: v.Size ?? 0, isLatest: v.IsLatest ?? true, ...(v.LastModified ? { lastModified: v.LastModified.getTime() } : {}) });
    }
    for (const v of page.DeleteMarkers ?? []) {
      if (v.Key === undefined || !v.Key.startsWith(prefix)) continue;
      entries.push({ key: v.Key, versionId: v.VersionId ?? "null", deleteMarker: true, size: 0, isLatest: v.IsLatest ?? false, ...(v.LastModified ? { lastModified: v.LastModified.getTime() } : {}) });
    }
    // Versions and markers come in two lists; within a page, key order is restored (stable: each list keeps its own order).
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* entries;
    if (!page.IsTruncated || !page.NextKeyMarker) return;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}
