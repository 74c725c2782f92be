/**
 * Keeps a long run's data in the store bounded: every round writes fresh
 * bytes, and a full run writes tens of GiB, more than the disk under a
 * local target holds. What a cell wrote goes once the cell is measured,
 * outside its timed sections:
 *
 * - a peer's objects, each deleted with the version it has (the O3 target
 *   keeps versions, as O3 does, so a plain DELETE would only add a delete
 *   marker); the version comes from a HEAD, so no version listing of the
 *   whole bucket is needed per key;
 * - o3ml's through o3ml itself: its keys deleted through the service (what
 *   `o3ml rm` does; a checkpoint's deletion records it deleted), then its
 *   gc with no grace period (collectUnreachable), which deletes every
 *   version of each blob and manifest nothing reaches any more. No grace is
 *   safe only because nothing but this run writes the bucket: a local
 *   target's bucket is made for the run.
 */
import { DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { AdminClient, type ServiceClient } from "@o3ml/client";

export async function deleteKeys(s3: S3Client, Bucket: string, keys: string[]): Promise<void> {
  for (const Key of keys) {
    let VersionId: string | undefined;
    try {
      VersionId = (await s3.send(new HeadObjectCommand({ Bucket, Key }))).VersionId;
    } catch {
      continue; // never written (a failed round), or already gone
    }
    await s3.send(new DeleteObjectCommand({ Bucket, Key, ...(VersionId && VersionId !== "null" ? { VersionId } : {}) }));
  }
}

/** o3ml's keys, deleted through its service, as `o3ml rm` does (a key never written is no error). */
export async function deleteO3mlKeys(client: ServiceClient, keys: string[]): Promise<void> {
  for (const key of keys) await client.delete(key);
}

/** What one collection freed, for the run's log. */
export interface Collected {
  blobs: number;
  bytes: number;
  manifests: number;
  refs: number;
}

/**
 * o3ml's gc with grace 0 through the service at `address`; only for a bucket
 * nothing else writes (see above). Callers run it between cells, never
 * while a measurement is in flight.
 */
export async function collectUnreachable(address: string): Promise<Collected> {
  const admin = new AdminClient(address);
  try {
    const r = await admin.collectGarbage({ graceSeconds: 0 });
    return {
      blobs: Number(r.deletedBlobs?.count ?? 0),
      bytes: Number(r.deletedBlobs?.bytes ?? 0) + Number(r.deletedManifests?.bytes ?? 0),
      manifests: Number(r.deletedManifests?.count ?? 0),
      refs: Number(r.deletedRefs ?? 0),
    };
  } finally {
    admin.close();
  }
}

/** Every key under `prefix` (a remote bucket's run prefix, at the end of the run). */
export async function deletePrefix(s3: S3Client, Bucket: string, prefix: string): Promise<number> {
  let ContinuationToken: string | undefined;
  let n = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken }));
    const keys = (page.Contents ?? []).map((o) => o.Key!);
    await deleteKeys(s3, Bucket, keys);
    n += keys.length;
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return n;
}
