import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { DeleteObjectCommand, ListObjectVersionsCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient, CheckpointClient, ServiceClient } from "@o3ml/client";
import { cidOf } from "@o3ml/integrity";
import { s3ClientFor, startMoto, startO3Profile, type O3ProfileServer, type S3Server } from "@o3ml/standin";
import { drain as collect, startE2eService, startPeerService, streamOf as bytes, type E2eService } from "../e2e-service.test-support.js";
import { blobKey, GC_MARKS_KEY, refPrefix, ROOT } from "@o3ml/repository";
import type { RunningService } from "../server.js";

/**
 * gc on a versioned store (the O3-profile layer over moto: versioning always
 * on, as on O3), with its grace marks kept in the bucket: a restarted service
 * counts the grace period from the first collection that saw a key
 * unreachable, and what gc collects leaves no version and no delete marker.
 */
const CHUNK = 64 * 1024;

async function o3Profile(): Promise<S3Server> {
  const moto = await startMoto();
  try {
    const proxy = await startO3Profile(moto);
    return { ...proxy, stop: async () => (await proxy.stop(), await moto.stop()) };
  } catch (err) {
    await moto.stop();
    throw err;
  }
}

describe("gc on the O3 profile (versioned)", { timeout: 240_000 }, () => {
  let e: E2eService;
  let raw: S3Client;
  const started: RunningService[] = [];
  const clients: { close(): void }[] = [];
  const client = <T extends { close(): void }>(c: T) => (clients.push(c), c);
  const exists = async (key: string) => (await e.svc.store.head(key)) !== undefined;
  const keys = async (prefix: string) => {
    const out: string[] = [];
    for await (const o of e.svc.store.list(prefix)) out.push(o.key);
    return out;
  };
  /** Every version and delete marker under `prefix`, read with a plain S3 client (not o3ml's). */
  const versions = async (prefix: string) => {
    const out: { key: string; marker: boolean }[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (;;) {
      const page = await raw.send(new ListObjectVersionsCommand({ Bucket: e.svc.store.bucket, Prefix: prefix, KeyMarker, VersionIdMarker }));
      for (const v of page.Versions ?? []) out.push({ key: v.Key!, marker: false });
      for (const v of page.DeleteMarkers ?? []) out.push({ key: v.Key!, marker: true });
      if (!page.IsTruncated) return out;
      KeyMarker = page.NextKeyMarker;
      VersionIdMarker = page.NextVersionIdMarker;
    }
  };

  beforeAll(async () => {
    e = await startE2eService({ s3: o3Profile, service: { chunkSize: CHUNK } });
    raw = s3ClientFor(e.s3);
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    raw?.destroy();
    for (const s of started) await s.stop();
    await e?.stop();
  });

  it("counts the grace period from the first collection that saw a key unreachable, across a restart of the collecting service", async () => {
    const GRACE_S = 15;
    const first = client(new ServiceClient(e.svc.address));
    const kept = randomBytes(CHUNK);
    await first.put("restart/kept.bin", bytes(kept));
    const replaced = randomBytes(2 * CHUNK);
    await first.put("restart/replaced.bin", bytes(replaced));
    await first.put("restart/replaced.bin", bytes(randomBytes(100)));
    const orphans = [cidOf(replaced.subarray(0, CHUNK)), cidOf(replaced.subarray(CHUNK))].map(blobKey);

    // A service that has never collected, as a restarted one: its memory holds no marks.
    const gcA = await startPeerService(e, { chunkSize: CHUNK });
    started.push(gcA);
    const firstAt = Date.now();
    const one = await client(new AdminClient(gcA.address)).collectGarbage({ graceSeconds: GRACE_S });
    expect(Number(one.deletedBlobs?.count ?? 0)).toBe(0);
    expect(Number(one.pendingBlobs?.count)).toBe(2);
    expect(await e.svc.store.head(GC_MARKS_KEY)).toBeDefined();
    await gcA.stop();

    // Half the grace period later, so that a count restarted by the restart would not be due below.
    await sleep(firstAt + (GRACE_S * 1000) / 2 - Date.now());
    const gcB = await startPeerService(e, { chunkSize: CHUNK });
    started.push(gcB);
    const adminB = client(new AdminClient(gcB.address));
    const two = await adminB.collectGarbage({ graceSeconds: GRACE_S });
    // Not a timing assertion: the check below means something only within the grace period.
    if (Date.now() - firstAt >= GRACE_S * 1000) throw new Error(`this machine took over ${GRACE_S} s for two collections; the check before the grace period could not be made`);
    expect(Number(two.deletedBlobs?.count ?? 0)).toBe(0);
    expect((await Promise.all(orphans.map(exists))).every(Boolean)).toBe(true);

    await sleep(firstAt + GRACE_S * 1000 + 3000 - Date.now());
    const three = await adminB.collectGarbage({ graceSeconds: GRACE_S });
    expect(Number(three.deletedBlobs?.count)).toBe(2);
    expect((await Promise.all(orphans.map(exists))).some(Boolean)).toBe(false);
    expect((await collect((await first.get("restart/kept.bin")).data)).equals(kept)).toBe(true);
  });

  it("never collects a blob younger than the grace period, whatever the marks say (an upload for a commit still in progress)", async () => {
    // Uploaded by some other service for a commit that has not written its ref yet.
    const pending = randomBytes(1000);
    const key = blobKey(cidOf(pending));
    await e.svc.store.put(key, pending);
    // Marks claiming the key was unreachable long ago, as a stale write by another collection could leave them.
    const current = JSON.parse(Buffer.from(await e.svc.store.get(GC_MARKS_KEY).catch(() => Buffer.from('{"format":1,"marks":{}}'))).toString("utf8")) as { format: number; marks: Record<string, number> };
    current.marks[key] = 0;
    await e.svc.store.put(GC_MARKS_KEY, Buffer.from(JSON.stringify(current)));
    const report = await client(new AdminClient(e.svc.address)).collectGarbage({ graceSeconds: 600 });
    expect(Number(report.pendingBlobs?.count)).toBeGreaterThanOrEqual(1);
    expect(await exists(key)).toBe(true);
  });

  it("leaves no version or delete marker of anything it collects, and everything reachable reads and verifies", async () => {
    const objects = client(new ServiceClient(e.svc.address));
    const ckpt = client(new CheckpointClient(e.svc.address));
    const live = randomBytes(3 * CHUNK);
    await objects.put("versions/live.bin", bytes(live));
    const gone = randomBytes(2 * CHUNK);
    await objects.put("versions/gone.bin", bytes(gone));
    await objects.delete("versions/gone.bin");
    const weights = randomBytes(2 * CHUNK);
    const saved = await ckpt.save({ key: "versions/run/step-1.ckpt", run: "versions-run", step: 1 }, [
      { name: "skeleton", kind: "skeleton", data: randomBytes(300) },
      { name: "0", kind: "storage", dtype: "float32", data: weights },
    ]);
    await ckpt.save({ key: "versions/run/old.ckpt", run: "versions-run", step: 0 }, [{ name: "0", kind: "storage", dtype: "float32", data: randomBytes(CHUNK) }]);
    await objects.delete("versions/run/old.ckpt");
    // A garbage blob stored twice with a delete marker between (as a retried upload and
    // a plain delete leave it on O3): three entries in ListObjectVersions, one current.
    const twice = blobKey(cidOf(gone.subarray(0, CHUNK)));
    await raw.send(new PutObjectCommand({ Bucket: e.svc.store.bucket, Key: twice, Body: gone.subarray(0, CHUNK) }));
    await raw.send(new DeleteObjectCommand({ Bucket: e.svc.store.bucket, Key: twice }));
    await raw.send(new PutObjectCommand({ Bucket: e.svc.store.bucket, Key: twice, Body: gone.subarray(0, CHUNK) }));
    expect((await versions(twice)).filter((v) => v.key === twice).length).toBeGreaterThanOrEqual(3);

    const before = new Set([...(await keys(`${ROOT}blobs/`)), ...(await keys(`${ROOT}manifests/`))]);
    const report = await client(new AdminClient(e.svc.address)).collectGarbage({ graceSeconds: 0 });
    const after = new Set([...(await keys(`${ROOT}blobs/`)), ...(await keys(`${ROOT}manifests/`))]);
    const collected = [...before].filter((k) => !after.has(k));
    expect(collected).toContain(twice);
    expect(collected.length).toBe(Number(report.deletedBlobs?.count) + Number(report.deletedManifests?.count));
    expect(collected.length).toBeGreaterThanOrEqual(5);
    const left = [...(await versions(`${ROOT}blobs/`)), ...(await versions(`${ROOT}manifests/`))].filter((v) => collected.includes(v.key));
    expect(left).toEqual([]);

    expect((await collect((await objects.get("versions/live.bin")).data)).equals(live)).toBe(true);
    const back = await ckpt.loadAll(saved.cid);
    expect(back.entries.find((x) => x.name === "0")!.data.equals(weights)).toBe(true);
    expect(Number((await ckpt.verify(saved.key)).bytesChecked)).toBeGreaterThan(0);
    await expect(objects.get("versions/gone.bin")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("lists the versions under each prefix once, not once for every key it removes", async () => {
    const objects = client(new ServiceClient(e.svc.address));
    const N = 30;
    const cids: string[] = [];
    for (let i = 0; i < N; i++) {
      const data = randomBytes(1000 + i);
      cids.push(cidOf(data));
      await objects.put(`sweep/${i}.bin`, bytes(data));
      await objects.delete(`sweep/${i}.bin`);
    }
    const layer = e.s3 as unknown as O3ProfileServer;
    layer.setFaults({ rules: [{ kind: "latency", operations: "LIST", ms: 0 }] }); // counts LISTs, delays none
    const { report, lists } = await client(new AdminClient(e.svc.address))
      .collectGarbage({ graceSeconds: 0 })
      .then((r) => ({ report: r, lists: layer.stats().rules[0]!.considered }))
      .finally(() => layer.setFaults({ rules: [] }));
    expect(Number(report.deletedBlobs?.count)).toBeGreaterThanOrEqual(N);
    expect(Number(report.deletedRefs)).toBeGreaterThanOrEqual(2 * N); // each key's ref, then its tombstone
    // One listing per removed key would be over 4N (blob, manifest, ref, tombstone).
    expect(lists).toBeLessThan(N);
    const left = (await versions(ROOT)).filter((v) => v.key.startsWith(refPrefix("objects", "sweep/")) || cids.some((c) => v.key === blobKey(c)));
    expect(left).toEqual([]);
  });
});
