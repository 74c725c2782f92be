import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cidOf } from "@o3ml/integrity";
import { createBlobStore, type BlobStore } from "@o3ml/o3-client";
import { minioBinary, startMinio, type S3Server } from "@o3ml/standin";
import { BlobWriter } from "./blob-writer.js";
import { KnownBlobs } from "./known-blobs.js";
import { blobKey } from "./layout.js";

/**
 * A blob's PUT carries its CID's digest as the signed payload hash: the
 * signer does not hash the bytes again, and a store that checks the header
 * (MinIO, AWS S3) refuses bytes that are not the CID's. moto does not check
 * it, so this runs on MinIO only.
 */
const minio = minioBinary();
if (!minio.path && process.env.CI === "true") throw new Error(`MinIO is required in CI: ${minio.reason}`);

describe.runIf(minio.path)("blob uploads on MinIO", { timeout: 120_000 }, () => {
  let s3: S3Server;
  let store: BlobStore;
  beforeAll(async () => {
    s3 = await startMinio({ binary: minio.path });
    store = createBlobStore(
      { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket: "writer", profile: "s3" },
      { probeCacheDir: false },
    );
    await store.ensureBucket({ create: true });
  });
  afterAll(async () => {
    store?.close();
    await s3?.stop();
  });

  it("stores a blob whose bytes match its CID", async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const cid = cidOf(bytes);
    const writer = new BlobWriter(store, new KnownBlobs(store), 2);
    await writer.write(cid, bytes);
    await writer.flush();
    expect(Buffer.from(await store.get(blobKey(cid))).equals(bytes)).toBe(true);
  });

  it("never stores bytes under a CID they do not hash to: the store refuses the PUT", async () => {
    const bytes = randomBytes(1024 * 1024);
    const cid = cidOf(randomBytes(16));
    const writer = new BlobWriter(store, new KnownBlobs(store), 2);
    await writer.write(cid, bytes);
    await expect(writer.flush()).rejects.toThrow(/sha256|SHA256|content/i);
    expect(await store.head(blobKey(cid))).toBeUndefined();
  });
});
