import { randomBytes } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatasetClient } from "@o3ml/client";
import { cidOf } from "@o3ml/integrity";
import { createBlobStore, type BlobStore, type O3Config } from "@o3ml/o3-client";
import { startMoto, startO3Profile, type O3ProfileServer, type S3Server } from "@o3ml/standin";
import { startE2eService, type E2eService } from "../e2e-service.test-support.js";
import { blobKey } from "@o3ml/repository";
import { createLogger } from "../logger.js";
import { cacheDir, Host } from "./host.js";

/** Blob fetches into the host cache run on the fetch pool's threads (fetch-pool.ts), end to end. */
const MiB = 1024 * 1024;

async function* chunks(bytes: Uint8Array, size = MiB) {
  for (let off = 0; off < bytes.length; off += size) yield bytes.subarray(off, off + size);
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error("expected a failure");
}

describe("blob fetches through the service", () => {
  let e: E2eService;
  let client: DatasetClient;

  beforeAll(async () => {
    e = await startE2eService();
    client = new DatasetClient(e.svc.address);
  });
  afterAll(async () => {
    client?.close();
    await e?.stop();
  });

  it("fill the host cache without a blob GET on the event loop, and the store metrics count them", async () => {
    const bytes = randomBytes(3 * MiB + 7);
    const cid = cidOf(bytes);
    await client.putBlob(cid, bytes.length, chunks(bytes));
    // Diagnostics channels are per thread: this one sees the HTTP requests of the event loop only.
    const seen: string[] = [];
    const onRequest = (msg: unknown) => {
      const req = (msg as { request: ClientRequest }).request;
      seen.push(`${req.method} ${req.path}`);
    };
    subscribe("http.client.request.start", onRequest);
    const readBefore = (await e.svc.metrics.storeBytesRead.get()).values[0]?.value ?? 0;
    try {
      // A request the event loop does send is seen, so silence below means the GET went elsewhere.
      await e.svc.store.head(blobKey(cid));
      expect(seen.some((s) => s.startsWith("HEAD ") && s.includes(blobKey(cid)))).toBe(true);
      const got = await client.fetch(cid);
      expect(readFileSync(got.path).equals(bytes)).toBe(true);
      await client.release(got.lease);
    } finally {
      unsubscribe("http.client.request.start", onRequest);
    }
    expect(seen.filter((s) => s.startsWith("GET ") && s.includes(blobKey(cid)))).toEqual([]);
    expect((await e.svc.metrics.storeBytesRead.get()).values[0]!.value - readBefore).toBe(bytes.length);
    const gets = (await e.svc.metrics.storeRequests.get()).values.find((v) => v.labels.op === "get");
    expect(gets?.value).toBeGreaterThanOrEqual(1);
  });
});

describe("a fetch thread and the cache", () => {
  let upstream: S3Server;
  let proxy: O3ProfileServer;
  let store: BlobStore;
  let host: Host;
  let home: string;

  beforeAll(async () => {
    upstream = await startMoto();
    proxy = await startO3Profile(upstream);
    const config: O3Config = {
      endpoint: proxy.endpoint,
      region: proxy.region,
      accessKeyId: proxy.accessKeyId,
      secretAccessKey: proxy.secretAccessKey,
      bucket: `o3ml-fetch-${Date.now().toString(36)}`,
      profile: "o3",
    };
    store = createBlobStore(config, { probeCacheDir: false });
    await store.ensureBucket({ create: true });
    home = mkdtempSync(join(tmpdir(), "o3ml-fetch-"));
    host = new Host(home, 1024 * MiB, store, { config, concurrency: 2 }, createLogger("fetch-test"));
  });
  afterAll(async () => {
    await host?.close();
    store?.close();
    await proxy?.stop();
    await upstream?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const leftovers = (cid: string) => readdirSync(cacheDir(home)).filter((n) => n === cid || n.startsWith(".tmp."));

  it("dying mid-fetch fails the fetch as UNAVAILABLE naming the CID, leaves no entry or temp file, and the next fetch works", async () => {
    const bytes = randomBytes(4 * MiB);
    const cid = cidOf(bytes);
    await store.put(blobKey(cid), bytes);
    // The body stops after its first piece: the thread is then mid-fetch, its temp file open.
    proxy.setFaults({ rules: [{ kind: "stall", operations: "GET", keyPrefix: blobKey(""), ms: 30_000 }] });
    const fetching = host.verifiedFile(cid, "test fetch");
    fetching.catch(() => undefined);
    await (await host.cache()).has(cid); // the cache directory exists once the cache is open
    while (!readdirSync(cacheDir(home)).some((n) => n.startsWith(".tmp."))) await sleep(20);
    await Promise.all(host.fetchThreads.map((t) => t.terminate()));
    const err = await failure(fetching);
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.message).toContain(cid);
    expect(err.message).toContain("worker thread");
    expect(leftovers(cid)).toEqual([]);

    proxy.setFaults({ rules: [] });
    const lease = await host.verifiedFile(cid, "test fetch");
    expect(readFileSync(lease.path).equals(bytes)).toBe(true);
    await lease.release();
  });

  it("fetches a blob again through the S3 client when the reused-buffer path meets a cut body, an error or damaged bytes", async () => {
    for (const rule of [{ kind: "truncate", keepBytes: MiB }, { kind: "internal-error" }, { kind: "bit-flip" }] as const) {
      const bytes = randomBytes(3 * MiB);
      const cid = cidOf(bytes);
      await store.put(blobKey(cid), bytes);
      proxy.setFaults({ rules: [{ ...rule, operations: "GET", keyPrefix: blobKey(cid), limit: 1 }] });
      const lease = await host.verifiedFile(cid, "test fetch");
      try {
        // Two GETs: the first, on the socket path, met the fault; the S3 client's read the blob.
        expect(proxy.stats().rules[0], rule.kind).toMatchObject({ considered: 2, fired: 1 });
        expect(readFileSync(lease.path).equals(bytes), rule.kind).toBe(true);
      } finally {
        await lease.release();
      }
      expect(readdirSync(cacheDir(home)).filter((n) => n.startsWith(".tmp.")), rule.kind).toEqual([]);
    }
    proxy.setFaults({ rules: [] });
  });

  it("reads a blob in one GET when nothing goes wrong", async () => {
    const bytes = randomBytes(3 * MiB + 5);
    const cid = cidOf(bytes);
    await store.put(blobKey(cid), bytes);
    proxy.setFaults({ rules: [{ kind: "latency", ms: 0, operations: "GET", keyPrefix: blobKey(cid) }] });
    const lease = await host.verifiedFile(cid, "test fetch");
    try {
      expect(proxy.stats().rules[0]!.considered).toBe(1);
      expect(readFileSync(lease.path).equals(bytes)).toBe(true);
    } finally {
      await lease.release();
      proxy.setFaults({ rules: [] });
    }
  });

  it("finds a blob damaged in the store: INTEGRITY naming the object key and the CID, nothing cached", async () => {
    const bytes = randomBytes(2 * MiB);
    const cid = cidOf(bytes);
    const altered = Buffer.from(bytes);
    altered[12345]! ^= 0x08;
    await store.put(blobKey(cid), altered);
    const err = await failure(host.verifiedFile(cid, "test fetch"));
    expect(err.code).toBe("INTEGRITY");
    expect(err.message).toContain(cid);
    expect(err.message).toContain(blobKey(cid));
    expect(leftovers(cid)).toEqual([]);
  });
});
