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

  // A PUT of a small blob is a round trip more than a transfer: many run at once. Large ones are
  // bounded by `concurrency` and by the service's chunk budget, which small ones do not take.
  it("keeps up to concurrency x 8 small uploads in flight, concurrency large ones, and only large ones take the budget", async () => {
    let inFlight = 0;
    let most = 0;
    const counted: BlobStore = Object.assign(Object.create(store) as BlobStore, {
      put: async (...args: Parameters<BlobStore["put"]>) => {
        most = Math.max(most, ++inFlight);
        try {
          await store.put(...args);
        } finally {
          inFlight--;
        }
      },
    });
    let taken = 0;
    const budget = { acquire: async () => void taken++, release: () => void taken-- };
    const upload = async (count: number, size: number) => {
      most = 0;
      const writer = new BlobWriter(counted, new KnownBlobs(counted), 2, undefined, budget);
      const blobs = Array.from({ length: count }, () => randomBytes(size));
      let held = 0;
      for (const b of blobs) {
        await writer.write(cidOf(b), b);
        held = Math.max(held, taken);
      }
      await writer.flush();
      for (const b of blobs) expect(Buffer.from(await store.get(blobKey(cidOf(b)))).equals(b)).toBe(true);
      return { most, held };
    };
    expect(await upload(40, 4096)).toEqual({ most: 16, held: 0 });
    const large = await upload(5, 512 * 1024);
    expect(large.most).toBe(2);
    expect(large.held).toBe(2);
    expect(taken, "every place taken was given back").toBe(0);
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
