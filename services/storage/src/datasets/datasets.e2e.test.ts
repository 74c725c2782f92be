import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatasetClient } from "@o3ml/client";
import { cidOf } from "@o3ml/integrity";
import { startMoto, type S3Server } from "@o3ml/standin";
import { o3ml } from "@o3ml/proto";
import { blobKey, manifestKey } from "@o3ml/repository";
import { startService, type RunningService } from "../server.js";
import { encodeDatasetManifest } from "./dataset-manifest.js";

/** The BlobService and DatasetService end to end: real gRPC on loopback, a real S3 server. */
const MiB = 1024 * 1024;

async function* chunks(bytes: Uint8Array, size = 1 * MiB) {
  for (let off = 0; off < bytes.length; off += size) yield bytes.subarray(off, off + size);
}
async function collect(it: AsyncIterable<Uint8Array>) {
  const out: Buffer[] = [];
  for await (const b of it) out.push(Buffer.from(b));
  return Buffer.concat(out);
}
async function failure(p: Promise<unknown> | AsyncIterable<unknown>) {
  try {
    if (p instanceof Promise) await p;
    else for await (const _ of p);
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error("expected a failure");
}

describe("BlobService and DatasetService on moto", () => {
  let s3: S3Server;
  let svc: RunningService;
  let client: DatasetClient;
  let home: string;
  const bucket = `o3ml-ds-${Date.now().toString(36)}`;

  beforeAll(async () => {
    s3 = await startMoto();
    home = mkdtempSync(join(tmpdir(), "o3ml-home-"));
    process.env.O3ML_HOME = home;
    svc = await startService(
      { listen: "127.0.0.1:0", createBucket: true },
      { config: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket, profile: "o3" } },
    );
    client = new DatasetClient(svc.address);
  });
  afterAll(async () => {
    client?.close();
    await svc?.stop();
    await s3?.stop();
  });

  /** Stores `bytes` as a blob and returns its CID. */
  async function put(bytes: Uint8Array) {
    const cid = cidOf(bytes);
    await client.putBlob(cid, bytes.length, chunks(bytes));
    return cid;
  }

  it("stores a blob once, answers Has, and serves it verified", async () => {
    const bytes = randomBytes(3 * MiB + 5);
    const cid = cidOf(bytes);
    expect(await client.has([cid])).toEqual([false]);
    expect(await client.putBlob(cid, bytes.length, chunks(bytes))).toEqual({ deduplicated: false });
    expect(await client.has([cid])).toEqual([true]);
    expect(await client.putBlob(cid, bytes.length, chunks(bytes))).toEqual({ deduplicated: true });
    expect((await collect(client.getBlob(cid))).equals(bytes)).toBe(true);
    expect((await svc.store.get(blobKey(cid))).length).toBe(bytes.length);
  });

  it("never stores bytes under a CID they do not hash to, even through multipart", async () => {
    const claimed = cidOf(randomBytes(100));
    for (const size of [1000, 40 * MiB]) {
      const err = await failure(client.putBlob(claimed, size, chunks(randomBytes(size), 2 * MiB)));
      expect(err.code).toBe("INTEGRITY");
      expect(err.message).toContain(claimed);
      expect(await svc.store.head(blobKey(claimed))).toBeUndefined();
    }
    expect(await client.has([claimed])).toEqual([false]);
    const short = randomBytes(500);
    expect((await failure(client.putBlob(cidOf(short), 1000, chunks(short)))).code).toBe("ABORTED");
    expect((await failure(client.putBlob(cidOf(short), 100, chunks(short)))).code).toBe("INVALID_ARGUMENT");
    expect((await failure(client.has(["nope"]))).code).toBe("INVALID_ARGUMENT");
  });

  it("hands over a verified cache file on Fetch and unpins it on Release", async () => {
    const bytes = randomBytes(2 * MiB);
    const cid = await put(bytes);
    const got = await client.fetch(cid);
    expect(got.path).toBe(join(home, "cache", "blobs", cid));
    expect(Number(got.size)).toBe(bytes.length);
    expect(readFileSync(got.path).equals(bytes)).toBe(true);
    const pins = () => readdirSync(join(home, "cache", "blobs")).filter((n) => n.startsWith(`${cid}.pin.`));
    expect(pins()).toHaveLength(1);
    await client.release(got.lease);
    expect(pins()).toHaveLength(0);
    expect(existsSync(got.path)).toBe(true);
    expect((await failure(client.release(got.lease))).code).toBe("NOT_FOUND");
    expect((await failure(client.fetch(cidOf(randomBytes(8))))).code).toBe("NOT_FOUND");
  });

  it("fails Get and Fetch with INTEGRITY naming the CID when the stored blob was altered, caching nothing", async () => {
    const bytes = randomBytes(MiB + 1);
    const cid = await put(bytes);
    const altered = Buffer.from(bytes);
    altered[1000]! ^= 0x40;
    await svc.store.put(blobKey(cid), altered);
    for (const err of [await failure(client.getBlob(cid)), await failure(client.fetch(cid))]) {
      expect(err.code).toBe("INTEGRITY");
      expect(err.message).toContain(cid);
      expect(err.message).toContain(blobKey(cid));
    }
    expect(existsSync(join(home, "cache", "blobs", cid))).toBe(false);
  });

  it("re-reads the bucket for Get with from_store, even when a verified copy is cached", async () => {
    const bytes = randomBytes(MiB);
    const cid = await put(bytes);
    expect((await collect(client.getBlob(cid))).equals(bytes)).toBe(true);
    await svc.store.put(blobKey(cid), Buffer.concat([bytes, Buffer.from("x")]));
    expect((await collect(client.getBlob(cid))).equals(bytes)).toBe(true);
    expect((await failure(client.getBlob(cid, { fromStore: true }))).code).toBe("INTEGRITY");
  });

  it("commits versions after their shards, resolves and lists them, and refuses what it must", async () => {
    const shardA = randomBytes(4096);
    const shardB = randomBytes(2048);
    const a = await put(shardA);
    const manifest = (shards: { cid: string; size: number; split: string }[]) => ({
      name: "e2e/digits",
      shards: shards.map((s, i) => ({ ...s, samples: [{ key: `k${s.split}${i}`, offset: 0, size: 1024, sha256: new Uint8Array(32).fill(i) }] })),
      schema: { sourceKind: "files", fields: ["bin"] },
    });
    const missing = await failure(client.commit({ ...manifest([{ cid: a, size: 4096, split: "train" }, { cid: cidOf(shardB), size: 2048, split: "val" }]), version: "v1" }));
    expect(missing.code).toBe("FAILED_PRECONDITION");
    expect(missing.message).toContain(cidOf(shardB));
    expect((await failure(client.resolve("e2e/digits"))).code).toBe("NOT_FOUND");

    const b = await put(shardB);
    const v1 = await client.commit({ ...manifest([{ cid: a, size: 4096, split: "train" }, { cid: b, size: 2048, split: "val" }]), version: "v1" });
    expect(v1).toMatchObject({ name: "e2e/digits", version: "v1", samples: 2, bytes: 6144, shards: 2, parentCid: "" });
    const dup = await failure(client.commit({ ...manifest([{ cid: a, size: 4096, split: "train" }]), version: "v1" }));
    expect(dup.code).toBe("ALREADY_EXISTS");
    const v2 = await client.commit(manifest([{ cid: a, size: 4096, split: "train" }]));
    expect(v2.version).toMatch(/^[0-9A-Z]{26}$/);
    expect(v2.parentCid).toBe(v1.cid);

    for (const spec of ["e2e/digits", "e2e/digits@latest", `e2e/digits@${v2.version}`]) {
      expect((await client.resolve(spec)).info.cid).toBe(v2.cid);
    }
    const r1 = await client.resolve("e2e/digits@v1");
    expect(r1.manifest.shards.map((s) => s.cid)).toEqual([a, b]);
    expect(Buffer.from(r1.manifest.shards[0]!.samples[0]!.sha256)).toEqual(Buffer.alloc(32, 0));
    // The stored manifest is canonical: decoding and encoding again gives the same bytes.
    const stored = await svc.store.get(manifestKey(v1.cid));
    expect(cidOf(stored)).toBe(v1.cid);
    expect(Buffer.from(encodeDatasetManifest(o3ml.v1.DatasetManifest.decode(stored))).equals(Buffer.from(stored))).toBe(true);

    const nover = await failure(client.resolve("e2e/digits@v9"));
    expect(nover.code).toBe("NOT_FOUND");
    expect(nover.message).toContain("v1");
    expect(nover.message).toContain(v2.version);
    const noname = await failure(client.resolve("e2e/nothing"));
    expect(noname.code).toBe("NOT_FOUND");
    expect(noname.message).toContain("e2e/digits");
    expect((await failure(client.resolve("bad name"))).code).toBe("INVALID_ARGUMENT");

    expect((await client.list("e2e/digits")).map((v) => v.version)).toEqual(["v1", v2.version]);
    expect((await client.list()).some((v) => v.name === "e2e/digits")).toBe(true);
    const indexed = await svc.metadata.index.listDatasetVersions("e2e/digits");
    expect(indexed.map((v) => v.manifestCid).sort()).toEqual([v1.cid, v2.cid].sort());
    expect(indexed.find((v) => v.manifestCid === v2.cid)).toMatchObject({ parentVersion: "v1", parentManifestCid: v1.cid });
  });

  it("refuses malformed manifests with INVALID_ARGUMENT", async () => {
    const cid = await put(randomBytes(100));
    const base = { name: "e2e/bad", shards: [{ cid, size: 100, split: "", samples: [{ key: "a", offset: 0, size: 50 }] }] };
    expect(await client.commit(base)).toMatchObject({ samples: 1 });
    const cases = [
      { ...base, shards: [] },
      { ...base, name: "a@b" },
      { ...base, version: "latest" },
      { ...base, shards: [{ ...base.shards[0]!, samples: [{ key: "a", offset: 90, size: 50 }] }] },
      { ...base, shards: [{ ...base.shards[0]!, samples: [{ key: "a", offset: 0, size: 10 }, { key: "a", offset: 10, size: 10 }] }] },
    ];
    for (const m of cases) expect((await failure(client.commit(m))).code).toBe("INVALID_ARGUMENT");
  });
});
