import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AdminClient, ServiceClient } from "@o3ml/client";
import { cidOf } from "@o3ml/integrity";
import { minioBinary, startMinio, startMoto, type S3Server } from "@o3ml/standin";
import { drain as collect, startE2eService, startPeerService, streamOf as bytes, type E2eService } from "../e2e-service.test-support.js";
import { KnownBlobs, blobKey, GC_EPOCH_KEY, refPrefix, condemn } from "@o3ml/repository";
import type { RunningService } from "../server.js";

/**
 * gc and deletions, and gc run by one service while another writes: a
 * collection never brings a deleted value back, and no service reports a
 * put as stored when another service's collection removed a blob it reused.
 */
const CHUNK = 64 * 1024;
const servers: [string, () => Promise<S3Server>][] = [["moto", () => startMoto()]];
const minio = minioBinary();
if (minio.path) servers.push(["minio", () => startMinio({ binary: minio.path })]);
else if (process.env.CI === "true") throw new Error(`MinIO is required in CI: ${minio.reason}`);


describe.each(servers)("gc and deletions on %s", { timeout: 240_000 }, (_name, startS3) => {
  let e: E2eService;
  let second: RunningService;
  let a: ServiceClient;
  let b: ServiceClient;
  let adminA: AdminClient;
  const keys = async (prefix: string) => {
    const out: string[] = [];
    for await (const o of e.svc.store.list(prefix)) out.push(o.key);
    return out;
  };
  const notFound = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: "NOT_FOUND" });
  /** A blob of 1000 random bytes, stored straight in the bucket (as another service would have). */
  const storedBlob = async () => {
    const blob = randomBytes(1000);
    const cid = cidOf(blob);
    await e.svc.store.put(blobKey(cid), blob);
    return { blob, cid };
  };

  beforeAll(async () => {
    e = await startE2eService({ s3: startS3, service: { chunkSize: CHUNK } });
    second = await startPeerService(e, { chunkSize: CHUNK });
    a = new ServiceClient(e.svc.address);
    b = new ServiceClient(second.address);
    adminA = new AdminClient(e.svc.address);
  }, 120_000);
  afterAll(async () => {
    for (const c of [a, b, adminA]) c?.close();
    await second?.stop();
    await e?.stop();
  });

  it("keeps a deletion deleted through gc with the default grace, then reclaims every ref and blob of it", async () => {
    const data = randomBytes(2 * CHUNK);
    await a.put("del/one.bin", bytes(data));
    await a.put("del/one.bin", bytes(randomBytes(CHUNK))); // an older version as well
    expect((await a.delete("del/one.bin")).existed).toBe(true);
    await notFound(a.stat("del/one.bin"));

    const waited = await adminA.collectGarbage({});
    // The data waits out its grace period, so its refs, the deletion marker included, must all stay.
    expect(Number(waited.deletedRefs)).toBe(0);
    expect((await keys(refPrefix("objects", "del/one.bin"))).length).toBe(3);
    await notFound(a.stat("del/one.bin"));
    await notFound(a.get("del/one.bin"));
    expect((await a.list("del/", 100, "")).objects).toEqual([]);

    const now = await adminA.collectGarbage({ graceSeconds: 0 });
    expect(Number(now.deletedBlobs?.count)).toBe(3);
    expect(Number(now.deletedRefs)).toBe(3);
    expect(await keys(refPrefix("objects", "del/one.bin"))).toEqual([]);
    expect(await e.svc.store.head(blobKey(cidOf(data.subarray(0, CHUNK))))).toBeUndefined();
    await notFound(a.stat("del/one.bin"));
    // The name is free again.
    await a.put("del/one.bin", bytes(Buffer.from("again")));
    expect((await collect((await a.get("del/one.bin")).data)).toString()).toBe("again");
  });

  it("never resurrects any of several deleted keys across repeated collections", async () => {
    const names = Array.from({ length: 6 }, (_, i) => `del/many/${i}.bin`);
    for (const n of names) await a.put(n, bytes(randomBytes(CHUNK + 17)));
    for (const n of names.slice(0, 4)) await a.delete(n);
    for (let round = 0; round < 3; round++) {
      await adminA.collectGarbage({});
      const listed = (await a.list("del/many/", 100, "")).objects.map((o) => o.key);
      expect(listed).toEqual(names.slice(4));
      for (const n of names.slice(0, 4)) await notFound(a.stat(n));
    }
  });

  it("keeps a deletion deleted when a key held the same bytes as another live key", async () => {
    const shared = randomBytes(CHUNK);
    await a.put("del/shared-a.bin", bytes(shared));
    await a.put("del/shared-b.bin", bytes(shared));
    await a.delete("del/shared-a.bin");
    await adminA.collectGarbage({ graceSeconds: 0 });
    await notFound(a.stat("del/shared-a.bin"));
    expect((await collect((await a.get("del/shared-b.bin")).data)).equals(shared)).toBe(true);
  });

  it("a put through one service stores its blob again after another service's gc removed it", async () => {
    const x = randomBytes(2 * CHUNK);
    await b.put("multi/k1.bin", bytes(x)); // service B now remembers x's blobs as stored
    await b.put("multi/k1.bin", bytes(randomBytes(CHUNK))); // x is unreachable now
    const gc = await adminA.collectGarbage({ graceSeconds: 0 });
    expect(Number(gc.deletedBlobs?.count)).toBeGreaterThanOrEqual(2);
    expect(await e.svc.store.head(blobKey(cidOf(x.subarray(0, CHUNK))))).toBeUndefined();
    expect(await e.svc.store.head(GC_EPOCH_KEY)).toBeDefined();
    // B's memory of the epoch is at most a second old; past that it reads the epoch again.
    await new Promise((r) => setTimeout(r, 1100));
    const put = await b.put("multi/k2.bin", bytes(x));
    expect(Number(put.bytesUploaded)).toBeGreaterThanOrEqual(x.byteLength);
    expect((await collect((await a.get("multi/k2.bin")).data)).equals(x)).toBe(true);
    expect((await collect((await b.get("multi/k2.bin")).data)).equals(x)).toBe(true);
  });

  it("a commit that reused a blob another service's gc removed fails instead of committing", async () => {
    // Two services' memories of the same bucket, as KnownBlobs holds them.
    const mine = new KnownBlobs(e.svc.store);
    const theirs = new KnownBlobs(e.svc.store);
    const { blob, cid } = await storedBlob();
    await mine.readEpoch();
    const lease = mine.lease();
    expect(await mine.has(cid)).toBe(true); // remembered from here on
    lease.relied(blobKey(cid));
    // The other service collects: a new epoch, then the deletion.
    await theirs.newEpoch();
    await e.svc.store.delete(blobKey(cid));
    await expect(lease.confirm("put multi/raced.bin")).rejects.toMatchObject({ code: "ABORTED", message: expect.stringContaining(blobKey(cid)) });
    expect(await mine.has(cid)).toBe(false); // forgotten once the new epoch is read
    lease.release();

    // Without a collection in between, confirming costs a listing and a read, and passes.
    await e.svc.store.put(blobKey(cid), blob);
    const calm = mine.lease();
    expect(await mine.has(cid)).toBe(true);
    calm.relied(blobKey(cid));
    await expect(calm.confirm("put multi/calm.bin")).resolves.toBeUndefined();
    calm.release();
  });

  it("a commit that counts on a key a collection in progress condemned fails instead of committing, and passes once it is done", async () => {
    const known = new KnownBlobs(e.svc.store);
    const { cid } = await storedBlob();
    // Another service's collection is about to delete the blob: its condemned list is in the bucket.
    const condemned = await condemn(e.svc.store, [blobKey(cid)]);
    const lease = known.lease();
    lease.add(cid);
    lease.relied(blobKey(cid));
    await expect(lease.confirm("save raced.ckpt")).rejects.toMatchObject({ code: "ABORTED", message: expect.stringContaining(condemned.key) });
    await condemned.remove();
    await expect(lease.confirm("save raced.ckpt")).resolves.toBeUndefined();
    lease.release();
  });

  // A put reads gc's state beside its last uploads (BlobLease.readAhead): the check must still
  // judge what the commit counts on by the end, and the fence must count from the reads' start.
  it("a read-ahead judges keys a commit counts on after it: a blob condemned before it fails the commit", async () => {
    const known = new KnownBlobs(e.svc.store);
    const { cid } = await storedBlob();
    const condemned = await condemn(e.svc.store, [blobKey(cid)]);
    const lease = known.lease();
    lease.readAhead();
    // Found stored only after the reads began, as a deduplicated last blob is.
    expect(await known.has(cid)).toBe(true);
    lease.add(cid);
    lease.relied(blobKey(cid));
    await expect(lease.confirm("put ahead/condemned.bin")).rejects.toMatchObject({ code: "ABORTED", message: expect.stringContaining(condemned.key) });
    await condemned.remove();
    lease.release();
  });

  it("a read-ahead after another service's collection finished HEADs what the commit counts on, and fails when it is gone", async () => {
    const mine = new KnownBlobs(e.svc.store);
    const theirs = new KnownBlobs(e.svc.store);
    const { cid } = await storedBlob();
    await mine.readEpoch();
    const lease = mine.lease();
    lease.relied(blobKey(cid));
    // The other service's collection ran to its end (its last epoch written, its list removed) before the reads.
    await theirs.newEpoch();
    await e.svc.store.delete(blobKey(cid));
    lease.readAhead();
    await expect(lease.confirm("put ahead/gone.bin")).rejects.toMatchObject({ code: "ABORTED", message: expect.stringContaining("removed") });
    lease.release();
  });

  it("a read-ahead older than the confirmation window is read again, so a list condemned since then fails the commit", async () => {
    const known = new KnownBlobs(e.svc.store);
    const { cid } = await storedBlob();
    const calm = known.lease();
    calm.add(cid);
    calm.readAhead();
    await expect(calm.confirm("put ahead/calm.bin")).resolves.toBeUndefined(); // nothing condemned: it passes
    calm.release();

    const lease = known.lease();
    lease.add(cid);
    lease.readAhead();
    await new Promise((r) => setTimeout(r, 200)); // the reads are done, and found nothing condemned
    const condemned = await condemn(e.svc.store, [blobKey(cid)]);
    // Only the clock moves on (SigV4 allows this much skew): the uploads "took" longer than the window.
    vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
    try {
      vi.setSystemTime(Date.now() + 6_000);
      await expect(lease.confirm("put ahead/late.bin")).rejects.toMatchObject({ code: "ABORTED", message: expect.stringContaining(condemned.key) });
    } finally {
      vi.useRealTimers();
      await condemned.remove();
      lease.release();
    }
  });
});
