import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cidOf } from "@o3ml/integrity";
import { createBlobStore, type BlobStore, type O3Config } from "@o3ml/o3-client";
import { blobKey } from "@o3ml/repository";
import { startMoto, type S3Server } from "@o3ml/standin";
import { createLogger } from "../logger.js";
import { Host } from "./host.js";
import { locatedBlobs, type LocatedBlob } from "./located-blobs.js";

/**
 * How far a located load or get reads ahead (located-blobs.ts): a small blob's GET is a round
 * trip and no bandwidth, so many run at once, within a bound the consumer cannot push past.
 */
describe("located blobs read ahead", () => {
  let moto: S3Server;
  let store: BlobStore;
  let host: Host;
  let home: string;
  let gets = 0;
  let inFlight = 0;
  let maxInFlight = 0;

  beforeAll(async () => {
    moto = await startMoto();
    const config: O3Config = {
      endpoint: moto.endpoint,
      region: moto.region,
      accessKeyId: moto.accessKeyId,
      secretAccessKey: moto.secretAccessKey,
      bucket: `o3ml-ahead-${Date.now().toString(36)}`,
      profile: "s3",
    };
    const real = createBlobStore(config, { probeCacheDir: false });
    await real.ensureBucket({ create: true });
    // The real store, with its GETs counted while they run.
    store = Object.assign(Object.create(real) as BlobStore, {
      get: async (...args: Parameters<BlobStore["get"]>) => {
        gets++;
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          return await real.get(...args);
        } finally {
          inFlight--;
        }
      },
    });
    home = mkdtempSync(join(tmpdir(), "o3ml-ahead-"));
    host = new Host(home, 64 * 1024 * 1024, store, { config, concurrency: 2 }, createLogger("ahead-test"));
  });
  afterAll(async () => {
    await host?.close();
    store?.close();
    await moto?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("fetches up to concurrency x 8 small blobs at once, no more while the consumer waits, and yields them in order", async () => {
    const blobs = Array.from({ length: 40 }, (_, i) => randomBytes(1024 + i));
    const chunks = blobs.map((b) => ({ cid: cidOf(b), size: b.byteLength }));
    for (const [i, b] of blobs.entries()) await store.put(blobKey(chunks[i]!.cid), b);
    gets = 0;
    maxInFlight = 0;
    const concurrency = 2;
    const it = locatedBlobs(host, store, chunks, () => true, concurrency, "ahead/key", "ahead test");
    const first = await it.next();
    // The consumer holds the first blob: what was started meanwhile is the whole read-ahead.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(gets, "blobs started before the consumer asked for a second").toBe(concurrency * 8);
    expect(maxInFlight).toBeGreaterThan(concurrency);
    const got: LocatedBlob[] = [first.value as LocatedBlob];
    for await (const b of it) got.push(b);
    expect(got.map((b) => Buffer.from(b as Uint8Array))).toEqual(blobs.map((b) => Buffer.from(b)));
    expect(maxInFlight).toBeLessThanOrEqual(concurrency * 8);
    expect(gets).toBe(blobs.length);
  });
});
