/**
 * Keeps a long run's data in the store bounded. Each key is deleted with the
 * version it has (the O3 target keeps versions, as O3 does, so a plain
 * DELETE would only add a delete marker); the version comes from a HEAD,
 * never from a version listing: moto (behind the local O3 target) copies
 * every version in the bucket, data included, to answer one, which takes
 * minutes and gigabytes once a run has written a few GiB. For the same
 * reason o3ml's own objects are not collected during the run (its gc lists
 * versions); they go when the target stops.
 */
import { DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";

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
