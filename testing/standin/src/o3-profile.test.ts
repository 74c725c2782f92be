import { createHash } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startO3Profile, type O3ProfileServer } from "./o3-profile.js";
import { s3ClientFor } from "./s3-client-for.js";
import type { S3Server } from "./s3-server.js";
import { captureHeaders, uniqueBucket, upstreamCases, useContentMd5 } from "./upstreams.fixture.js";

const HEX = /^"[0-9a-f]{32}(-\d+)?"$/;
const BASE64 = /^"[A-Za-z0-9+/]{22}==(-\d+)?"$/;
const md5 = (b: Buffer | string) => createHash("md5").update(b).digest();
const MiB = 1024 * 1024;

for (const upstreamCase of upstreamCases()) {
  describe.skipIf(!upstreamCase.start)(`O3-profile layer over ${upstreamCase.name}`, { timeout: 30_000 }, () => {
    let upstream: S3Server;
    let proxy: O3ProfileServer;
    let s3: S3Client;
    let bucket: string;

    beforeAll(async () => {
      upstream = await upstreamCase.start!();
      proxy = await startO3Profile(upstream, { networkDelayMs: 1500 });
      s3 = s3ClientFor(proxy);
      bucket = uniqueBucket("o3p");
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    }, 60_000);
    afterAll(async () => {
      await proxy?.stop();
      await upstream?.stop();
    }, 30_000);

    it("presents itself with the upstream's credentials and region, on loopback", () => {
      expect(proxy.kind).toBe("o3-profile");
      expect(proxy.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(proxy.region).toBe("akave-network");
      expect(proxy.upstream).toBe(upstream);
    });

    it("refuses flexible-checksum headers the way O3 does, and accepts WHEN_REQUIRED clients", async () => {
      const defaults = s3ClientFor(proxy, { checksums: "sdk-default", maxAttempts: 1 });
      const put = defaults.send(new PutObjectCommand({ Bucket: bucket, Key: "sum/a", Body: "x" }));
      await expect(put).rejects.toMatchObject({ name: "InvalidArgument", $metadata: { httpStatusCode: 400 } });
      await expect(put).rejects.toThrow(/x-amz-sdk-checksum-algorithm/);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "sum/a", Body: "x" }));
      // A default client also asks for response checksums on GET (x-amz-checksum-mode).
      await expect(defaults.send(new GetObjectCommand({ Bucket: bucket, Key: "sum/a" }))).rejects.toMatchObject({ name: "InvalidArgument" });
      const before = proxy.stats().refused.checksum;
      await expect(defaults.send(new PutObjectCommand({ Bucket: bucket, Key: "sum/b", Body: Buffer.alloc(3 * MiB) }))).rejects.toMatchObject({
        name: "InvalidArgument",
      });
      expect(proxy.stats().refused.checksum).toBe(before + 1);
      defaults.destroy();
    });

    it("refuses even WHEN_REQUIRED clients on operations whose checksum the SDK always sends, unless they use Content-MD5", async () => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "multi/a", Body: "a" }));
      const del = new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "multi/a" }] } });
      await expect(s3.send(del)).rejects.toMatchObject({ name: "InvalidArgument" });
      const md5Client = s3ClientFor(proxy);
      useContentMd5(md5Client);
      const out = await md5Client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "multi/a" }] } }));
      expect(out.Deleted?.[0]?.DeleteMarker).toBe(true);
      md5Client.destroy();
    });

    it("reports ETags in base64 on PUT, HEAD, GET, listings and multipart uploads", async () => {
      const body = "hello o3";
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "etag/one", Body: body }));
      expect(put.ETag).toMatch(BASE64);
      expect(put.ETag).toBe(`"${md5(body).toString("base64")}"`);
      expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "etag/one" }))).ETag).toBe(put.ETag);
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "etag/one" }));
      expect(got.ETag).toBe(put.ETag);
      expect(await got.Body!.transformToString()).toBe(body);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "etag/" }));
      expect(listed.Contents?.map((c) => c.ETag)).toEqual([put.ETag]);
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: "etag/" }));
      expect(versions.Versions?.[0]?.ETag).toBe(put.ETag);

      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "etag/mp" }));
      const parts = [Buffer.alloc(5 * MiB, 1), Buffer.alloc(1000, 2)];
      const etags: string[] = [];
      for (const [i, part] of parts.entries()) {
        const up = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: "etag/mp", UploadId, PartNumber: i + 1, Body: part }));
        expect(up.ETag).toBe(`"${md5(part).toString("base64")}"`);
        etags.push(up.ETag!);
      }
      const done = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: "etag/mp",
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
      const expected = md5(Buffer.concat(etags.map((e) => Buffer.from(e.slice(1, -1), "base64")))).toString("base64");
      expect(done.ETag).toBe(`"${expected}-2"`);
      expect(done.VersionId).toBeTruthy();
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "etag/mp" }));
      expect(head.ETag).toBe(done.ETag);
      expect(head.ContentLength).toBe(5 * MiB + 1000);
      for (const e of [put.ETag, done.ETag, head.ETag]) expect(e).not.toMatch(HEX);
    });

    it("keeps the upstream's minimum part size: parts under 5 MiB other than the last are refused", async () => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "small/mp" }));
      const etags = [];
      for (const n of [1, 2]) {
        const up = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: "small/mp", UploadId, PartNumber: n, Body: Buffer.alloc(5 * MiB - 1, n) }));
        etags.push({ ETag: up.ETag, PartNumber: n });
      }
      const complete = s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "small/mp", UploadId, MultipartUpload: { Parts: etags } }));
      await expect(complete).rejects.toMatchObject({ name: "EntityTooSmall", $metadata: { httpStatusCode: 400 } });
    });

    it("keeps conditional completion: If-None-Match: * refuses to replace an existing object", async () => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "cond/mp", Body: "first" }));
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "cond/mp" }));
      const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: "cond/mp", UploadId, PartNumber: 1, Body: "second" }));
      const complete = s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: "cond/mp",
          UploadId,
          IfNoneMatch: "*",
          MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] },
        }),
      );
      await expect(complete).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "cond/mp" }));
      expect(await got.Body!.transformToString()).toBe("first");
    });

    it("turns versioning on at CreateBucket and refuses to suspend it", async () => {
      const b = uniqueBucket("o3p-ver");
      await s3.send(new CreateBucketCommand({ Bucket: b }));
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBe("Enabled");
      const v1 = await s3.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "one" }));
      const v2 = await s3.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "two" }));
      expect(v1.VersionId).toBeTruthy();
      expect(v2.VersionId).not.toBe(v1.VersionId);
      const del = await s3.send(new DeleteObjectCommand({ Bucket: b, Key: "k" }));
      expect(del.DeleteMarker).toBe(true);
      const old = await s3.send(new GetObjectCommand({ Bucket: b, Key: "k", VersionId: v1.VersionId }));
      expect(await old.Body!.transformToString()).toBe("one");

      const md5Client = s3ClientFor(proxy, { maxAttempts: 1 });
      useContentMd5(md5Client);
      const suspend = md5Client.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: "Suspended" } }));
      await expect(suspend).rejects.toMatchObject({ name: "InvalidArgument", $metadata: { httpStatusCode: 400 } });
      await md5Client.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: "Enabled" } }));
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBe("Enabled");
      expect(proxy.stats().refused.versioning).toBeGreaterThanOrEqual(1);
      md5Client.destroy();
    });

    it("reports Network-State pending after a write, then done with a root CID", async () => {
      const client = s3ClientFor(proxy);
      const headers = captureHeaders(client);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "net/a", Body: "payload" }));
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "net/a" }));
      expect(headers.last()["network-state"]).toBe("pending");
      expect(headers.last()["network-root-cid"]).toBeUndefined();
      // Readable at once, while still pending.
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "net/a" }));
      expect(await got.Body!.transformToString()).toBe("payload");
      await new Promise((r) => setTimeout(r, 1600));
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "net/a" }));
      expect(headers.last()["network-state"]).toBe("done");
      expect(headers.last()["network-root-cid"]).toMatch(/^bafybei[a-z2-7]{52}$/);
      client.destroy();
    });

    it("refuses bucket names Akave does not allow", async () => {
      for (const name of ["ab", "Upper-case", "under_score", "dots.in.name", "-leading", "trailing-", "x".repeat(64)]) {
        await expect(s3.send(new CreateBucketCommand({ Bucket: name }))).rejects.toMatchObject({
          name: "InvalidBucketName",
          $metadata: { httpStatusCode: 400 },
        });
      }
      await s3.send(new CreateBucketCommand({ Bucket: uniqueBucket("ok-3") }));
    });

    it("switches versioning on for buckets made behind its back, before the first write", async () => {
      const direct = s3ClientFor(upstream);
      const b = uniqueBucket("o3p-direct");
      await direct.send(new CreateBucketCommand({ Bucket: b }));
      expect((await direct.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBeUndefined();
      const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "v" }));
      expect(put.VersionId).toBeTruthy();
      expect((await direct.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBe("Enabled");
      direct.destroy();
    });

    // moto checks no signatures; MinIO checks every one. Over MinIO, every
    // passing call above also shows that the Host header the client signed
    // reaches the upstream unchanged.
    it.skipIf(upstreamCase.name !== "minio")("leaves authentication to the upstream, CompleteMultipartUpload included", async () => {
      const intruder = s3ClientFor({ ...proxy, secretAccessKey: "not-the-secret" }, { maxAttempts: 1 });
      await expect(intruder.send(new PutObjectCommand({ Bucket: bucket, Key: "auth/x", Body: "x" }))).rejects.toMatchObject({
        name: "SignatureDoesNotMatch",
      });
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "auth/mp" }));
      const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: "auth/mp", UploadId, PartNumber: 1, Body: "tiny" }));
      const complete = new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "auth/mp",
        UploadId,
        MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] },
      });
      await expect(intruder.send(complete)).rejects.toMatchObject({ name: "SignatureDoesNotMatch" });
      const done = await s3.send(complete);
      expect(done.ETag).toMatch(BASE64);
      intruder.destroy();
    });
  });
}
