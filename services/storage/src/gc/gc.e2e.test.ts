import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient, CheckpointClient, type EntryToSave, ServiceClient, type WireSaveRequest } from "@o3ml/client";
import { cidOf, encodeObjectManifest, sha256 } from "@o3ml/integrity";
import { newEvent, blobKey, manifestKey, refKey, refPrefix, ROOT, RefStore } from "@o3ml/repository";
import { o3ml } from "@o3ml/proto";
import { drain as collect, startE2eService, streamOf as bytes, type E2eService } from "../e2e-service.test-support.js";

/** `o3ml gc` end to end against moto: it deletes what nothing reaches, and never anything reachable. */
const KiB = 1024;
const CHUNK = 64 * KiB;


// Each test talks to real servers; the property test runs several rounds of them.
describe("garbage collection", { timeout: 300_000 }, () => {
  let e: E2eService;
  let objects: ServiceClient;
  let ckpt: CheckpointClient;
  let admin: AdminClient;
  const keys = async (prefix: string) => {
    const out: string[] = [];
    for await (const o of e.svc.store.list(prefix)) out.push(o.key);
    return out;
  };
  const exists = async (key: string) => (await e.svc.store.head(key)) !== undefined;

  beforeAll(async () => {
    e = await startE2eService({ service: { chunkSize: CHUNK } });
    objects = new ServiceClient(e.svc.address);
    ckpt = new CheckpointClient(e.svc.address);
    admin = new AdminClient(e.svc.address);
  }, 120_000);
  afterAll(async () => {
    for (const c of [objects, ckpt, admin]) c?.close();
    await e?.stop();
  });

  it("removes what a cancelled save uploaded, after its grace period, and nothing else", async () => {
    const kept = randomBytes(3 * CHUNK);
    await objects.put("gc/kept.bin", bytes(kept));
    const orphan = randomBytes(2 * CHUNK);
    await expect(
      ckpt.saveStream(
        (async function* (): AsyncGenerator<WireSaveRequest> {
          yield { header: { key: "gc/cancelled.ckpt", run: "gc-run" } };
          yield { entry: { name: "0", kind: o3ml.v1.EntryKind.STORAGE, dtype: "uint8", nbytes: 4 * CHUNK } };
          yield { data: orphan };
          await new Promise((r) => setTimeout(r, 300));
          throw new Error("the trainer was killed");
        })(),
      ),
    ).rejects.toThrow("the trainer was killed");
    const orphanBlobs = [cidOf(orphan.subarray(0, CHUNK)), cidOf(orphan.subarray(CHUNK))].map(blobKey);
    // The stream's blobs were uploaded before the cancel reached the service.
    await expect.poll(async () => (await Promise.all(orphanBlobs.map(exists))).every(Boolean)).toBe(true);

    const first = await admin.collectGarbage({ graceSeconds: 3600 });
    expect(Number(first.deletedBlobs?.count ?? 0)).toBe(0);
    expect(Number(first.pendingBlobs?.count)).toBe(2);
    const dry = await admin.collectGarbage({ graceSeconds: 0, dryRun: true });
    expect(Number(dry.deletedBlobs?.count)).toBe(2);
    expect(Number(dry.deletedBlobs?.bytes)).toBe(2 * CHUNK);
    expect((await Promise.all(orphanBlobs.map(exists))).every(Boolean)).toBe(true);

    const real = await admin.collectGarbage({ graceSeconds: 0 });
    expect(Number(real.deletedBlobs?.count)).toBe(2);
    expect((await Promise.all(orphanBlobs.map(exists))).some(Boolean)).toBe(false);
    expect((await collect((await objects.get("gc/kept.bin")).data)).equals(kept)).toBe(true);
  });

  it("keeps the blobs of a save in progress, even with no grace period", async () => {
    let release!: () => void;
    const paused = new Promise<void>((r) => (release = r));
    const first = randomBytes(2 * CHUNK);
    const rest = randomBytes(CHUNK + 7);
    const saving = ckpt.saveStream(
      (async function* (): AsyncGenerator<WireSaveRequest> {
        yield { header: { key: "gc/in-flight.ckpt", run: "gc-run" } };
        yield { entry: { name: "0", kind: o3ml.v1.EntryKind.STORAGE, dtype: "uint8", nbytes: first.length + rest.length } };
        yield { data: first };
        await paused;
        yield { data: rest };
        yield { trailer: { entryCount: 1 } };
      })(),
    );
    await expect.poll(() => exists(blobKey(cidOf(first.subarray(0, CHUNK))))).toBe(true);
    const report = await admin.collectGarbage({ graceSeconds: 0 });
    expect(Number(report.pendingBlobs?.count)).toBeGreaterThanOrEqual(1);
    release();
    const info = await saving;
    const back = await ckpt.loadAll(info.cid);
    expect(back.entries[0]!.data.equals(Buffer.concat([first, rest]))).toBe(true);
    expect(Number((await ckpt.verify(info.key)).bytesChecked)).toBe(first.length + rest.length);
  });

  it("drops superseded refs, keeps every dataset version, and reclaims a checkpoint whose event landed but not its ref", async () => {
    await objects.put("gc/twice.bin", bytes(randomBytes(100)));
    const latest = randomBytes(200);
    await objects.put("gc/twice.bin", bytes(latest));
    // Two versions of a dataset, each one shard, written as the DatasetService writes them.
    const refs = new RefStore(e.svc.store, "datasets");
    const shards = [randomBytes(5000), randomBytes(6000)];
    for (const [i, shard] of shards.entries()) {
      const cid = cidOf(shard);
      await e.svc.store.put(blobKey(cid), shard);
      const m = o3ml.v1.DatasetManifest.encode({ formatVersion: 1, name: "gc-ds", version: `v${i}`, shards: [{ cid, size: shard.length }] }).finish();
      await e.svc.store.put(manifestKey(cidOf(m)), m);
      await refs.write("gc-ds", { manifestCid: cidOf(m), size: shard.length });
    }
    // A checkpoint commit that stopped after its event, before its ref.
    const orphanShard = randomBytes(1000);
    await e.svc.store.put(blobKey(cidOf(orphanShard)), orphanShard);
    const table = { key: "gc/crashed.ckpt", run: "gc-run", step: 0, epoch: 0, metrics: {}, datasetCid: "", parentCid: "" };
    const entries = [{ name: "0", kind: "storage" as const, dtype: "uint8", nbytes: 1000, firstChunk: 0, chunkCount: 1 }];
    const m = encodeObjectManifest({ size: 1000, chunks: [{ cid: cidOf(orphanShard), size: 1000 }], sha256: sha256(orphanShard), checkpoint: { ...table, entries } });
    await e.svc.store.put(manifestKey(cidOf(m)), m);
    const committed = { checkpointId: cidOf(m), runId: "gc-run", step: 0, epoch: 0, metrics: {}, manifestCid: cidOf(m), bytesTotal: 1000, bytesUploaded: 1000, bytesDeduplicated: 0 };
    // Its event is in the bucket's log, naming a ref that was never written (the commit point not reached).
    await e.svc.metadata.log.append(newEvent("checkpoint.committed", { ...committed, refId: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }));

    await admin.collectGarbage({ graceSeconds: 0 });
    expect(await keys(refPrefix("objects", "gc/twice.bin"))).toHaveLength(1);
    expect((await collect((await objects.get("gc/twice.bin")).data)).equals(latest)).toBe(true);
    expect(await keys(refPrefix("datasets", "gc-ds"))).toHaveLength(2);
    for (const s of shards) expect(await exists(blobKey(cidOf(s)))).toBe(true);
    // An event alone keeps nothing alive: only refs do (commit-order.ts).
    expect(await exists(manifestKey(cidOf(m)))).toBe(false);
    expect(await exists(blobKey(cidOf(orphanShard)))).toBe(false);
  });

  it("deletes nothing when a ref is of a kind it does not know", async () => {
    const stray = randomBytes(300);
    await e.svc.store.put(blobKey(cidOf(stray)), stray);
    const foreign = refKey("models", "m1", "01JZZZZZZZZZZZZZZZZZZZZZZZ");
    await e.svc.store.put(foreign, new Uint8Array([8, 1]));
    await expect(admin.collectGarbage({ graceSeconds: 0 })).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
    expect(await exists(blobKey(cidOf(stray)))).toBe(true);
    await e.svc.store.delete(foreign);
  });

  it("never deletes anything reachable (random puts, saves, overwrites, deletes, cancels)", async () => {
    const pool = [0, 10, CHUNK, CHUNK + 1, 100 * KiB, 3 * CHUNK].map((n) => randomBytes(n));
    const model = new Map<string, { kind: "object" | "checkpoint"; data: Buffer[] }>();
    const op = fc.record({
      op: fc.constantFrom("put", "save", "save", "delete", "cancel"),
      key: fc.integer({ min: 0, max: 3 }),
      segs: fc.array(fc.integer({ min: 0, max: pool.length - 1 }), { minLength: 1, maxLength: 4 }),
    });
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (ops) => {
        round++;
        for (const o of ops) {
          const key = `prop/k${o.key}`;
          const data = o.segs.map((i) => pool[i]!);
          if (o.op === "put") {
            await objects.put(key, bytes(Buffer.concat(data)));
            model.set(key, { kind: "object", data: [Buffer.concat(data)] });
          } else if (o.op === "save") {
            const entries: EntryToSave[] = data.map((d, i) => ({ name: String(i), kind: "storage", dtype: "uint8", data: d }));
            await ckpt.save({ key, run: `prop-${round}`, step: round }, entries);
            model.set(key, { kind: "checkpoint", data });
          } else if (o.op === "delete") {
            await objects.delete(key);
            model.delete(key);
          } else {
            await ckpt
              .saveStream(
                (async function* (): AsyncGenerator<WireSaveRequest> {
                  yield { header: { key, run: "prop-cancel" } };
                  yield { entry: { name: "0", kind: o3ml.v1.EntryKind.STORAGE, nbytes: 10 * CHUNK } };
                  yield { data: Buffer.concat(data) };
                  throw new Error("cancelled on purpose");
                })(),
              )
              .catch(() => undefined);
          }
        }
        await admin.collectGarbage({ graceSeconds: 0 });
        const listed = [];
        for await (const o of objects.listAll("prop/")) listed.push(o.key);
        expect(listed).toEqual([...model.keys()].sort());
        for (const [key, want] of model) {
          const got = await collect((await objects.get(key)).data);
          expect(got.equals(Buffer.concat(want.data)), key).toBe(true);
          if (want.kind === "checkpoint") {
            const back = await ckpt.loadAll(key);
            expect(back.entries.map((x) => x.data.length)).toEqual(want.data.map((d) => d.length));
            await ckpt.verify(key);
          }
        }
      }),
      { numRuns: 6, endOnFailure: true },
    );
    // Everything unreachable is gone: a second collection finds nothing more.
    await new Promise((r) => setTimeout(r, 500));
    const again = await admin.collectGarbage({ graceSeconds: 0 });
    expect(Number(again.deletedBlobs?.count ?? 0) + Number(again.pendingBlobs?.count ?? 0)).toBe(0);
    expect(Number(again.liveBlobs?.count)).toBe((await keys(`${ROOT}blobs/`)).length);
  });
});
