import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointClient, type EntryToSave, ServiceClient } from "@o3ml/client";
import { decodeObjectManifest, encodeObjectManifest, encodeRef, manifestCid } from "@o3ml/integrity";
import { startE2eService, type E2eService } from "../e2e-service.test-support.js";
import { manifestKey, refKey } from "@o3ml/repository";
import { archiveLayout } from "./torch-archive.js";

/** CheckpointService.ReadArchive and the archive size objects report, end to end against moto. Blobs are 1 MiB here. */
const MiB = 1024 * 1024;

const entries = (): EntryToSave[] => [
  { name: "data.pkl", kind: "skeleton", data: randomBytes(1500) },
  { name: "0", kind: "storage", dtype: "float32", data: randomBytes(2 * MiB + 5) },
  { name: "1", kind: "storage", dtype: "float32", data: new Uint8Array(0) },
  { name: "2", kind: "storage", dtype: "bfloat16", data: randomBytes(MiB) },
  { name: "3", kind: "storage", dtype: "int64", data: randomBytes(10) },
];

/** The archive computed here from the entries alone: what the service must send. */
function expected(sent: EntryToSave[]): Buffer {
  const table = { entries: sent.map((e, i) => ({ name: e.name, kind: e.kind, dtype: e.dtype ?? "", nbytes: e.data.byteLength, firstChunk: i, chunkCount: 1 })) };
  const layout = archiveLayout(table, (i) => crc32(sent[i]!.data) >>> 0)!;
  return Buffer.concat(layout.pieces.map((p) => ("bytes" in p ? p.bytes : Buffer.from(sent[p.entry]!.data.subarray(p.from, p.from + p.size)))));
}

describe("the torch archive view of checkpoints", { timeout: 120_000 }, () => {
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

  async function read(idOrKey: string, offset = 0, length = 0) {
    let info;
    const parts: Buffer[] = [];
    for await (const m of ckpt.readArchive(idOrKey, offset, length)) {
      if (m.info) info = m.info;
      else parts.push(Buffer.from(m.data!));
    }
    if (!info) throw new Error(`the archive stream of ${idOrKey} sent no info message`);
    return { info, bytes: Buffer.concat(parts) };
  }

  it("streams the archive laid out from the table, and any range of it, across entry and blob boundaries", async () => {
    const sent = entries();
    const saved = await ckpt.save({ key: "runs/z/epoch=0.ckpt", run: "run-z" }, sent);
    const whole = expected(sent);
    const { info, bytes } = await read(saved.key);
    expect(info).toMatchObject({ key: "runs/z/epoch=0.ckpt", cid: saved.cid, contentType: "application/zip", sha256: "" });
    expect(Number(info.size)).toBe(whole.length);
    expect(bytes.equals(whole)).toBe(true);
    // Stat and List report the archive's size beside the stored one.
    const stat = await objects.stat(saved.key);
    expect(Number(stat.archiveSize)).toBe(whole.length);
    expect(Number(stat.size)).toBe(Number(saved.bytesTotal));
    expect(Number((await objects.list("runs/z/", 10, "")).objects[0]!.archiveSize)).toBe(whole.length);
    const skeletonStart = whole.indexOf(Buffer.from(sent[0]!.data));
    for (const [offset, length] of [[0, 30], [skeletonStart - 3, 1510], [MiB, 2 * MiB], [whole.length - 200, 0], [whole.length - 5, 100], [whole.length, 0]]) {
      expect((await read(saved.cid, offset, length)).bytes.equals(whole.subarray(offset, length ? offset! + length : undefined))).toBe(true);
    }
    const past = await ckpt.readArchive(saved.cid, whole.length + 1).next().then(
      () => undefined,
      (err: { code?: string }) => err.code,
    );
    expect(past).toBe("INVALID_ARGUMENT");
  });

  it("computes the CRCs a checkpoint saved before the table recorded them lacks", async () => {
    const sent = entries();
    const saved = await ckpt.save({ key: "runs/z/old.ckpt", run: "run-z" }, sent);
    const bytes = await e.svc.store.get(manifestKey(saved.cid));
    const m = decodeObjectManifest(bytes, saved.cid);
    for (const entry of m.checkpoint!.entries) delete entry.crc32;
    const older = encodeObjectManifest(m);
    const cid = manifestCid(older);
    await e.svc.store.put(manifestKey(cid), older);
    await e.svc.store.put(refKey("objects", "runs/z/older.ckpt", "01JZZZZZZZZZZZZZZZZZZZZZZZ"), encodeRef({ kind: "objects", name: "runs/z/older.ckpt", manifestCid: cid, size: Number(saved.bytesTotal), createdUnixMs: Date.now() }));
    expect((await read("runs/z/older.ckpt")).bytes.equals(expected(sent))).toBe(true);
  });

  it("reads a copy of a checkpoint (an alias) under its own key, and deleting the alias leaves the checkpoint listed", async () => {
    const sent = entries().slice(0, 2);
    const saved = await ckpt.save({ key: "runs/y/best.ckpt", run: "run-y", step: 3 }, sent);
    const copied = await objects.copy("runs/y/best.ckpt", "exported/best.ckpt");
    expect(copied.cid).toBe(saved.cid);
    const alias = await read("exported/best.ckpt");
    expect(alias.info.key).toBe("exported/best.ckpt");
    expect(alias.bytes.equals(expected(sent))).toBe(true);
    await objects.delete("exported/best.ckpt");
    expect((await ckpt.list("run-y")).map((c) => c.cid)).toEqual([saved.cid]);
    // The checkpoint's own key still governs it: deleting that ends its listing, even with an alias left.
    await objects.copy("runs/y/best.ckpt", "exported/again.ckpt");
    await objects.delete("runs/y/best.ckpt");
    expect(await ckpt.list("run-y")).toEqual([]);
    expect((await read("exported/again.ckpt")).bytes.equals(expected(sent))).toBe(true);
  });

  it("has no archive view for an object that is not a torch checkpoint", async () => {
    await objects.put("plain/not-a-ckpt.bin", (async function* () {
      yield randomBytes(100);
    })());
    expect(Number((await objects.stat("plain/not-a-ckpt.bin")).archiveSize)).toBe(0);
    const code = await read("plain/not-a-ckpt.bin").then(
      () => undefined,
      (err: { code?: string }) => err.code,
    );
    expect(code).toBe("FAILED_PRECONDITION");
    const noSkeleton = await ckpt.save({ key: "runs/x/raw.ckpt", run: "run-x" }, [{ name: "0", kind: "storage", dtype: "uint8", data: randomBytes(10) }]);
    expect(Number((await objects.stat(noSkeleton.key)).archiveSize)).toBe(0);
    await expect(read(noSkeleton.cid)).rejects.toThrow("no skeleton");
  });
});
