import { randomBytes } from "node:crypto";
import { GetBucketVersioningCommand, ListObjectVersionsCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { ServiceClient } from "@o3ml/client";
import { manifestKey, ROOT } from "@o3ml/repository";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pieces } from "./object-checks.js";
import { deleteKeys, deleteO3mlKeys } from "./store-cleanup.js";
import { openSession, type TargetSession } from "./target-session.js";
import { startTarget, type Target } from "./targets.js";

/** Every stored version and delete marker under `prefix`, data or not. */
async function versions(s3: S3Client, Bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: prefix, KeyMarker, VersionIdMarker }));
    for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) out.push(v.Key!);
    if (!page.IsTruncated) return out;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
}

// The benchmark's local o3 target (the O3-profile layer over a disk-backed MinIO) and the clean-up
// it does between cells: nothing a measured cell wrote may stay on the disk, in any version.
describe("the o3 target and the per-cell clean-up", { timeout: 240_000 }, () => {
  let target: Target;
  let s: TargetSession;
  let client: ServiceClient;

  beforeAll(async () => {
    target = await startTarget("o3", undefined);
    s = await openSession(target);
    client = new ServiceClient(s.service);
  });
  afterAll(async () => {
    client?.close();
    await s?.close();
    await target?.stop();
  });

  it("is MinIO behind the O3-profile layer, with versioning on as on O3", async () => {
    expect(target.kind).toBe("local O3 profile over MinIO");
    expect(target.o3Profile?.upstream.kind).toBe("minio");
    const v = await s.s3.send(new GetBucketVersioningCommand({ Bucket: target.bucket }));
    expect(v.Status).toBe("Enabled");
    // Reported is not enough: an overwrite must keep the old version (a single-drive MinIO does).
    const Key = `${s.prefix}/twice`;
    for (let i = 0; i < 2; i++) await s.s3.send(new PutObjectCommand({ Bucket: target.bucket, Key, Body: randomBytes(1024) }));
    expect(await versions(s.s3, target.bucket, Key)).toHaveLength(2);
  });

  it("o3ml's deletion and its gc with no grace leave no version of a deleted object's data; a kept one survives", async () => {
    const kept = randomBytes(1 << 20);
    const gone = randomBytes(1 << 20);
    await client.put(`${s.prefix}/kept.bin`, pieces(kept), { size: kept.length });
    await client.put(`${s.prefix}/gone.bin`, pieces(gone), { size: gone.length });
    const goneManifest = manifestKey((await client.stat(`${s.prefix}/gone.bin`)).cid);
    expect(await versions(s.s3, target.bucket, goneManifest)).toHaveLength(1);
    const before = await versions(s.s3, target.bucket, `${ROOT}blobs/`);

    await deleteO3mlKeys(client, [`${s.prefix}/gone.bin`, `${s.prefix}/never-written.bin`]);
    const freed = await s.collect();

    expect(freed?.blobs).toBeGreaterThanOrEqual(1);
    const after = await versions(s.s3, target.bucket, `${ROOT}blobs/`);
    expect(after.length).toBeLessThan(before.length);
    expect(await versions(s.s3, target.bucket, goneManifest)).toEqual([]);
    const { data } = await client.get(`${s.prefix}/kept.bin`);
    const back: Buffer[] = [];
    for await (const b of data) back.push(Buffer.from(b));
    expect(Buffer.concat(back).equals(kept)).toBe(true);
  });

  it("a peer's objects are deleted with their version, so no version piles up", async () => {
    const keys = [`${s.prefix}/peer/a`, `${s.prefix}/peer/b`];
    for (const Key of keys) await s.s3.send(new PutObjectCommand({ Bucket: target.bucket, Key, Body: randomBytes(4096) }));
    expect(await versions(s.s3, target.bucket, `${s.prefix}/peer/`)).toHaveLength(2);
    await deleteKeys(s.s3, target.bucket, keys);
    expect(await versions(s.s3, target.bucket, `${s.prefix}/peer/`)).toEqual([]);
  });
});
