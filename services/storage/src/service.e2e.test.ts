import { randomBytes, createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceClient } from "@o3ml/client";
import { startMoto, startMinio, minioBinary, type S3Server } from "@o3ml/standin";
import type { O3Config } from "@o3ml/o3-client";
import { startService, type RunningService } from "./server.js";
import { blobKey } from "@o3ml/repository";

/**
 * The service end to end over real gRPC on loopback, against real S3 servers.
 * (The large-object acceptance tests run from Python through O3Client.)
 */
const servers: [string, () => Promise<S3Server>][] = [["moto", () => startMoto()]];
const minio = minioBinary();
if (minio.path) servers.push(["minio", () => startMinio({ binary: minio.path })]);
else if (process.env.CI === "true") throw new Error(`MinIO is required in CI: ${minio.reason}`);
else console.warn(`NOTICE: MinIO unavailable, service e2e runs on moto only: ${minio.reason}`);

async function* bytesOf(...parts: Uint8Array[]) {
  yield* parts;
}
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
async function collect(it: AsyncIterable<Uint8Array>) {
  const out: Buffer[] = [];
  for await (const b of it) out.push(Buffer.from(b));
  return Buffer.concat(out);
}

describe.each(servers)("storage service on %s", (_name, start) => {
  let s3: S3Server;
  let svc: RunningService;
  let client: ServiceClient;
  const bucket = `o3ml-e2e-${Date.now().toString(36)}`;
  const config = (): O3Config => ({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket, profile: "o3" });

  beforeAll(async () => {
    s3 = await start();
    process.env.O3ML_HOME = mkdtempSync(join(tmpdir(), "o3ml-home-"));
    svc = await startService({ listen: "127.0.0.1:0", createBucket: true, chunkSize: 1024 * 1024 }, { config: config() });
    client = new ServiceClient(svc.address);
  });
  afterAll(async () => {
    client?.close();
    await svc?.stop();
    await s3?.stop();
  });

  it("round-trips, ranges and dedups", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const res = await client.put("e2e/a.bin", bytesOf(data), { size: data.length, sha256: () => sha(data) });
    expect(Number(res.info!.size)).toBe(data.length);
    const { info, data: body } = await client.get("e2e/a.bin");
    expect(info.sha256).toBe(sha(data));
    expect((await collect(body)).equals(data)).toBe(true);
    const ranged = await client.get("e2e/a.bin", 1024 * 1024 - 5, 10);
    expect((await collect(ranged.data)).equals(data.subarray(1024 * 1024 - 5, 1024 * 1024 + 5))).toBe(true);
    const again = await client.put("e2e/b.bin", bytesOf(data), { size: data.length });
    expect(Number(again.bytesDeduplicated)).toBe(data.length);
    expect(Number(again.bytesUploaded)).toBeLessThan(4096);
  });

  it("lists across pages in key order and hides deleted objects", async () => {
    const keys = Array.from({ length: 23 }, (_, i) => `ls/k${String(i).padStart(3, "0")}`);
    for (const k of keys) await client.put(k, bytesOf(Buffer.from(k.repeat(20))));
    await client.delete("ls/k005");
    const seen: string[] = [];
    let token = "";
    do {
      const page = await client.list("ls/", 5, token);
      expect(page.objects.length).toBeLessThanOrEqual(5);
      seen.push(...page.objects.map((o) => o.key));
      token = page.nextPageToken;
    } while (token);
    expect(seen).toEqual(keys.filter((k) => k !== "ls/k005"));
    await expect(client.stat("ls/k005")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses a put whose bytes do not match the client's hash, committing nothing", async () => {
    const data = randomBytes(1000);
    await expect(client.put("e2e/bad-hash", bytesOf(data), { sha256: () => "0".repeat(64) })).rejects.toMatchObject({ code: "INTEGRITY" });
    await expect(client.stat("e2e/bad-hash")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses a stream shorter than its declared size, committing nothing", async () => {
    await expect(client.put("e2e/short", bytesOf(randomBytes(100)), { size: 200 })).rejects.toMatchObject({ code: "ABORTED" });
    await expect(client.stat("e2e/short")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("names the key and CID when a stored blob was altered, and sends no corrupt byte, streamed or from this host's cache", async () => {
    // A client that streams through gRPC, as one on another host does; it fills no host cache.
    process.env.O3ML_COLOCATE = "0";
    const streaming = new ServiceClient(svc.address);
    try {
      expect(await streaming.colocated()).toEqual({ why: expect.stringContaining("O3ML_COLOCATE") });
    } finally {
      delete process.env.O3ML_COLOCATE;
    }
    try {
      const data = randomBytes(2 * 1024 * 1024 + 3);
      await streaming.put("e2e/victim", bytesOf(data));
      const { info } = await streaming.get("e2e/victim");
      const manifestCids: string[] = [];
      for await (const o of svc.store.list("o3ml/v1/blobs/")) manifestCids.push(o.key);
      const first = data.subarray(0, 1024 * 1024);
      const { cidOf } = await import("@o3ml/integrity");
      const cid = cidOf(first);
      expect(manifestCids).toContain(blobKey(cid));
      const tampered = Buffer.from(first);
      tampered[12345] = tampered[12345]! ^ 0x10;
      await svc.store.put(blobKey(cid), tampered);
      // Streamed, and then on the service's host (its cache does not hold the blob): the same error, no byte.
      for (const reader of [streaming, client]) {
        const got = await reader.get("e2e/victim");
        const received: Buffer[] = [];
        const err = await (async () => {
          try {
            for await (const b of got.data) received.push(Buffer.from(b));
          } catch (e) {
            return e as { code: string; message: string };
          }
        })();
        expect(err?.code).toBe("INTEGRITY");
        expect(err?.message).toContain(cid);
        expect(err?.message).toContain("e2e/victim");
        expect(Buffer.concat(received).length).toBe(0);
      }
      expect("stagingDir" in (await client.colocated())).toBe(true);
      expect(info.key).toBe("e2e/victim");
    } finally {
      streaming.close();
    }
  });

  it("answers hostile keys with INVALID_ARGUMENT and keeps serving", async () => {
    for (const key of ["", "a/../b", "a\u0000b", "/x"]) {
      await expect(client.stat(key)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(client.put(key, bytesOf(Buffer.from("x")))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    await expect(client.stat("e2e/a.bin")).resolves.toMatchObject({ key: "e2e/a.bin" });
  });
});
