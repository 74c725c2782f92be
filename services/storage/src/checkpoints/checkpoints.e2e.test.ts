import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointClient, type EntryToSave, ServiceClient, type WireSaveRequest } from "@o3ml/client";
import { cidOf, decodeObjectManifest, encodeRef, manifestCid, OBJECT_MANIFEST_FORMAT } from "@o3ml/integrity";
import { o3ml } from "@o3ml/proto";
import { startE2eService, type E2eService } from "../e2e-service.test-support.js";
import { blobKey, manifestKey, refKey } from "@o3ml/repository";

/** The CheckpointService end to end over gRPC, against moto. Blobs are 1 MiB here. */
const MiB = 1024 * 1024;

const entries = (): EntryToSave[] => [
  { name: "data.pkl", kind: "skeleton", data: randomBytes(1500) },
  { name: "0", kind: "storage", dtype: "float32", data: randomBytes(3 * MiB + 5) },
  { name: "1", kind: "storage", dtype: "float32", data: new Uint8Array(0) },
  { name: "2", kind: "storage", dtype: "bfloat16", data: randomBytes(10) },
  { name: "3", kind: "storage", dtype: "int64", data: new Uint8Array(0) },
];

async function expectCode(p: Promise<unknown>, code: string, ...texts: string[]) {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; message?: string } | undefined;
  expect(err, `expected ${code}`).toBeDefined();
  expect(err!.code, err!.message).toBe(code);
  for (const t of texts) expect(err!.message).toContain(t);
}

describe("checkpoints through the service", { timeout: 120_000 }, () => {
  let e: E2eService;
  let ckpt: CheckpointClient;
  let objects: ServiceClient;

  beforeAll(async () => {
    e = await startE2eService();
    ckpt = new CheckpointClient(e.svc.address);
    objects = new ServiceClient(e.svc.address);
  }, 120_000);
  afterAll(async () => {
    ckpt?.close();
    objects?.close();
    await e?.stop();
  });

  it("round-trips entries, zero-length ones included, by key and by id", async () => {
    const sent = entries();
    const info = await ckpt.save({ key: "runs/a/epoch=0.ckpt", run: "run-a", step: 10, epoch: 0, metrics: { loss: 1.5, acc: 0.25 } }, sent);
    expect(info).toMatchObject({ key: "runs/a/epoch=0.ckpt", run: "run-a", state: "committed", entryCount: 5 });
    expect(Number(info.bytesTotal)).toBe(sent.reduce((n, x) => n + x.data.byteLength, 0));
    for (const sel of [info.key, info.cid]) {
      const back = await ckpt.loadAll(sel);
      expect(back.info.cid).toBe(info.cid);
      expect(back.entries.map((x) => [x.name, x.kind, x.dtype])).toEqual([
        ["data.pkl", 1, ""],
        ["0", 2, "float32"],
        ["1", 2, "float32"],
        ["2", 2, "bfloat16"],
        ["3", 2, "int64"],
      ]);
      back.entries.forEach((x, i) => expect(x.data.equals(Buffer.from(sent[i]!.data))).toBe(true));
    }
    const stat = await ckpt.stat(info.cid);
    expect(stat).toMatchObject({ key: info.key, run: "run-a", metrics: { loss: 1.5, acc: 0.25 }, state: "committed" });
    // The same object through the ObjectService: its bytes are its blobs (the skeleton's, the large
    // entry's chunks, then the pack of the small one), which hold every entry.
    const obj = await objects.get(info.key);
    expect(obj.info.contentType).toBe("application/vnd.o3ml.checkpoint");
    const all: Buffer[] = [];
    for await (const b of obj.data) all.push(Buffer.from(b));
    const whole = Buffer.concat(all);
    expect(whole.equals(Buffer.concat([sent[0]!.data, sent[1]!.data, sent[3]!.data]))).toBe(true);
    expect((await objects.list("runs/a/", 100, "")).objects.map((o) => o.key)).toContain(info.key);
  });

  it("uploads only what changed: each entry is chunked on its own", async () => {
    const base = [
      { name: "data.pkl", kind: "skeleton" as const, data: randomBytes(700) },
      ...[0, 1, 2, 3].map((i) => ({ name: String(i), kind: "storage" as const, dtype: "float32", data: randomBytes(MiB + 1000 * i + 3) })),
    ];
    const first = await ckpt.save({ key: "runs/d/step=1.ckpt", run: "run-d", step: 1 }, base);
    expect(Number(first.bytesUploaded)).toBe(Number(first.bytesTotal));
    const changed = randomBytes(base[2]!.data.byteLength);
    const second = await ckpt.save({ key: "runs/d/step=2.ckpt", run: "run-d", step: 2 }, base.map((x, i) => (i === 2 ? { ...x, data: changed } : x)));
    expect(Number(second.bytesUploaded)).toBe(changed.byteLength);
    expect(Number(second.bytesDeduplicated)).toBe(Number(second.bytesTotal) - changed.byteLength);
    expect(second.parentCid).toBe(first.cid);
    // The index holds the same figures, and List reports them.
    const listed = await ckpt.list("run-d");
    expect(listed.map((c) => [c.key, Number(c.bytesUploaded)])).toEqual([
      ["runs/d/step=1.ckpt", Number(first.bytesTotal)],
      ["runs/d/step=2.ckpt", changed.byteLength],
    ]);
  });

  it("filters listings by run and by key prefix", async () => {
    await ckpt.save({ key: "runs/f/x/1.ckpt", run: "run-f", step: 1 }, entries().slice(0, 1));
    await ckpt.save({ key: "runs/f/y/2.ckpt", run: "run-f", step: 2 }, entries().slice(0, 1));
    expect((await ckpt.list("run-f")).map((c) => c.key)).toEqual(["runs/f/x/1.ckpt", "runs/f/y/2.ckpt"]);
    expect((await ckpt.list("run-f", "runs/f/y/")).map((c) => c.key)).toEqual(["runs/f/y/2.ckpt"]);
    expect((await ckpt.list("", "runs/f/x/")).map((c) => c.key)).toEqual(["runs/f/x/1.ckpt"]);
    expect(await ckpt.list("no-such-run")).toEqual([]);
  });

  it("commits nothing for a short, malformed or cancelled stream", async () => {
    const key = "runs/bad/never.ckpt";
    const stream = (...msgs: WireSaveRequest[]) =>
      (async function* () {
        yield* msgs;
      })();
    const header = { header: { key, run: "run-bad" } };
    const entry = (name: string, nbytes: number) => ({ entry: { name, kind: o3ml.v1.EntryKind.STORAGE, dtype: "uint8", nbytes } });
    await expectCode(ckpt.saveStream(stream(header, entry("0", 4), { data: randomBytes(4) })), "ABORTED", key, "trailer");
    await expectCode(ckpt.saveStream(stream(header, entry("0", 4), { data: randomBytes(3) }, { trailer: { entryCount: 1 } })), "INVALID_ARGUMENT", "3 of its 4");
    await expectCode(ckpt.saveStream(stream(header, entry("0", 4), { data: randomBytes(5) })), "INVALID_ARGUMENT", "more than the 4");
    await expectCode(ckpt.saveStream(stream(header, entry("0", 1), { data: randomBytes(1) }, { trailer: { entryCount: 2 } })), "INVALID_ARGUMENT", "counts 2");
    await expectCode(ckpt.saveStream(stream(header, entry("0", 1), entry("0", 1))), "INVALID_ARGUMENT", "repeats");
    await expectCode(ckpt.saveStream(stream({ header: { key } }, { trailer: { entryCount: 0 } })), "INVALID_ARGUMENT", "no run");
    const cancelled = ckpt.saveStream(
      (async function* () {
        yield header;
        yield entry("0", 4 * MiB);
        yield { data: randomBytes(2 * MiB) };
        await new Promise((r) => setTimeout(r, 100));
        throw new Error("the trainer died");
      })(),
    );
    await expectCode(cancelled, "INTERNAL", "the trainer died");
    await expectCode(ckpt.stat(key), "NOT_FOUND");
    await expectCode(objects.stat(key), "NOT_FOUND");
    expect((await ckpt.list("run-bad")).length).toBe(0);
  });

  it("fails Load and Verify with INTEGRITY naming the key and CID of a corrupted blob", async () => {
    const sent = entries();
    const info = await ckpt.save({ key: "runs/c/victim.ckpt", run: "run-c" }, sent);
    const cid = cidOf(sent[1]!.data.subarray(MiB, 2 * MiB));
    const tampered = Buffer.from(sent[1]!.data.subarray(MiB, 2 * MiB));
    tampered[77] = tampered[77]! ^ 1;
    await e.svc.store.put(blobKey(cid), tampered);
    await expectCode(ckpt.verify(info.key), "INTEGRITY", info.key, cid);
    await expectCode(ckpt.verify(info.cid), "INTEGRITY", info.key, cid);
    const received: number[] = [];
    await expectCode(
      (async () => {
        for await (const m of ckpt.load(info.key)) if (m.data) received.push(m.data.byteLength);
      })(),
      "INTEGRITY",
      info.key,
      cid,
    );
    // Only the blobs before the corrupted one were passed on: the skeleton and the first MiB.
    expect(received.reduce((a, b) => a + b, 0)).toBe(1500 + MiB);
  });

  it("packs small entries into shared blobs, and reads every entry back from them", async () => {
    // Hundreds of small tensors (biases, norms, counters) between a few large ones, as a model has.
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const sent: EntryToSave[] = [{ name: "data.pkl", kind: "skeleton", data: randomBytes(4000) }];
    for (let i = 0; i < 300; i++) {
      const nbytes = i % 100 === 50 ? 2 * MiB + rand(1000) : 1 + rand(i % 3 === 0 ? 300 * 1024 : 2048);
      sent.push({ name: String(i), kind: "storage", dtype: "float32", data: randomBytes(nbytes) });
    }
    const small = sent.filter((x) => x.kind === "storage" && x.data.byteLength <= MiB / 2);
    const smallBytes = small.reduce((n, x) => n + x.data.byteLength, 0);
    const info = await ckpt.save({ key: "runs/p/packed.ckpt", run: "run-p" }, sent);
    const back = await ckpt.loadAll(info.key);
    expect(back.entries.map((x) => x.name)).toEqual(sent.map((x) => x.name));
    back.entries.forEach((x, i) => expect(x.data.equals(Buffer.from(sent[i]!.data)), x.name).toBe(true));
    // As an object it is its entries' bytes in order, whole or in any range, whatever packs hold them.
    const logical = Buffer.concat(sent.map((x) => Buffer.from(x.data)));
    const read = async (offset: number, length: number) => {
      const got = await objects.get(info.key, offset, length);
      const parts: Buffer[] = [];
      for await (const b of got.data) parts.push(Buffer.from(b));
      return { size: Number(got.info.size), bytes: Buffer.concat(parts) };
    };
    const all = await read(0, 0);
    expect(all.size).toBe(logical.length);
    expect(all.bytes.equals(logical)).toBe(true);
    for (const [offset, length] of [[3990, 20], [4000 + 17, 3 * MiB], [logical.length - 5000, 0]] as const) {
      expect((await read(offset, length)).bytes.equals(logical.subarray(offset, length === 0 ? undefined : offset + length))).toBe(true);
    }
    // 297 small entries in packs of at most 1 MiB (the chunk size here) and about 16 entries, not
    // one blob each; the skeleton and the three large entries (3 chunks each) in blobs of their own.
    const res = await ckpt.verify(info.key);
    const ownChunks = 1 + 3 * 3;
    expect(Number(res.blobsChecked)).toBeGreaterThan(ownChunks + small.length / 32);
    expect(Number(res.blobsChecked)).toBeLessThanOrEqual(ownChunks + Math.ceil((2 * smallBytes) / MiB) + small.length / 4);
    expect(Number(info.bytesTotal)).toBe(sent.reduce((n, x) => n + x.data.byteLength, 0));

    // The manifest (format 2) names the first small entry's pack right after the skeleton's blob:
    // damaged in the bucket, it fails the load and the check, naming the key and the pack.
    const manifest = decodeObjectManifest(await e.svc.store.get(manifestKey(info.cid)), info.cid);
    expect(manifest.formatVersion).toBe(2);
    expect(manifest.checkpoint!.entries[0]).toMatchObject({ kind: "skeleton", firstChunk: 0, chunkCount: 1 });
    expect(manifest.checkpoint!.entries[0]!.packed).toBeFalsy();
    expect(manifest.checkpoint!.entries[1]).toMatchObject({ packed: true, firstChunk: 1, offset: 0 });
    const pack = manifest.chunks[1]!.cid;
    const good = await e.svc.store.get(blobKey(pack));
    expect(Buffer.from(good.subarray(0, sent[1]!.data.byteLength)).equals(Buffer.from(sent[1]!.data))).toBe(true);
    const tampered = Buffer.from(good);
    tampered[3] = tampered[3]! ^ 1;
    await e.svc.store.put(blobKey(pack), tampered);
    await expectCode(ckpt.loadAll(info.key), "INTEGRITY", info.key, pack);
    await expectCode(ckpt.verify(info.key), "INTEGRITY", info.key, pack);
    await e.svc.store.put(blobKey(pack), good);

    // Saved again with one small entry changed: only that entry's pack is stored again (packs end at
    // names, not contents), and every other pack and blob is deduplicated.
    const changed = sent.map((x, i) => (i === 2 ? { ...x, data: randomBytes(x.data.byteLength) } : x));
    const again = await ckpt.save({ key: "runs/p/packed-2.ckpt", run: "run-p" }, changed);
    expect(Number(again.bytesUploaded)).toBeGreaterThanOrEqual(changed[2]!.data.byteLength);
    expect(Number(again.bytesUploaded)).toBeLessThanOrEqual(MiB);
    expect(Number(again.bytesDeduplicated)).toBe(Number(again.bytesTotal) - Number(again.bytesUploaded));
    const back2 = await ckpt.loadAll(again.cid);
    back2.entries.forEach((x, i) => expect(x.data.equals(Buffer.from(changed[i]!.data)), x.name).toBe(true));
  });

  it("verifies an intact checkpoint blob by blob", async () => {
    const info = await ckpt.save({ key: "runs/v/ok.ckpt", run: "run-v" }, entries());
    const res = await ckpt.verify(info.cid);
    // The skeleton's blob, the four 1 MiB chunks of the large entry and the pack of the 10-byte one.
    expect(Number(res.blobsChecked)).toBe(6);
    expect(Number(res.bytesChecked)).toBe(Number(info.bytesTotal));
  });

  it("refuses a manifest of a newer format_version with FAILED_PRECONDITION", async () => {
    const newer = OBJECT_MANIFEST_FORMAT + 1;
    const bytes = o3ml.v1.ObjectManifest.encode({ formatVersion: newer, size: 0, sha256: new Uint8Array(32), checkpoint: { key: "runs/n/new.ckpt", run: "r" } }).finish();
    const cid = manifestCid(bytes);
    await e.svc.store.put(manifestKey(cid), bytes);
    await e.svc.store.put(refKey("objects", "runs/n/new.ckpt", "01JZZZZZZZZZZZZZZZZZZZZZZZ"), encodeRef({ kind: "objects", name: "runs/n/new.ckpt", manifestCid: cid, createdUnixMs: Date.now() }));
    await expectCode(ckpt.stat("runs/n/new.ckpt"), "FAILED_PRECONDITION", `format_version ${newer}`);
    await expectCode(ckpt.stat(cid), "FAILED_PRECONDITION", "upgrade");
    await expectCode(ckpt.loadAll(cid), "FAILED_PRECONDITION");
  });

  it("takes a checkpoint out of the listings when its key is deleted or overwritten", async () => {
    const a = await ckpt.save({ key: "runs/g/last.ckpt", run: "run-g", step: 1 }, entries().slice(0, 2));
    const b = await ckpt.save({ key: "runs/g/last.ckpt", run: "run-g", step: 2 }, entries().slice(0, 2));
    expect((await ckpt.stat(a.cid)).state).toBe("deleted");
    expect((await ckpt.list("run-g")).map((c) => c.cid)).toEqual([b.cid]);
    expect((await objects.delete("runs/g/last.ckpt")).existed).toBe(true);
    expect((await ckpt.stat(b.cid)).state).toBe("deleted");
    expect(await ckpt.list("run-g")).toEqual([]);
    await expectCode(ckpt.loadAll(b.cid), "NOT_FOUND", "deleted");
    await expectCode(ckpt.stat("runs/g/last.ckpt"), "NOT_FOUND");
  });

  it("says so when asked for an object that is not a checkpoint", async () => {
    await objects.put("plain/file.bin", (async function* () {
      yield randomBytes(100);
    })());
    await expectCode(ckpt.stat("plain/file.bin"), "FAILED_PRECONDITION", "not a checkpoint");
    await expectCode(ckpt.stat("bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "NOT_FOUND");
  });
});
