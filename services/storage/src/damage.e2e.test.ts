import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointClient, ServiceClient } from "@o3ml/client";
import { cidOf } from "@o3ml/integrity";
import { minioBinary, startMinio, startMoto, type S3Server } from "@o3ml/standin";
import { drain, startE2eService, startPeerService, streamOf as bytes, type E2eService } from "./e2e-service.test-support.js";
import { blobKey, manifestKey } from "@o3ml/repository";

/**
 * Damage in the bucket, made behind the service's back after it has read
 * (and remembered) what it damages: listings name the damaged key and go on,
 * a missing blob is an integrity error, and `o3ml verify` re-reads
 * everything from the store and lists every problem.
 */
const CHUNK = 64 * 1024;
const BIN = fileURLToPath(new URL("../../../packages/o3ml/bin/o3ml.js", import.meta.url));
const servers: [string, () => Promise<S3Server>][] = [["moto", () => startMoto()]];
const minio = minioBinary();
if (minio.path) servers.push(["minio", () => startMinio({ binary: minio.path })]);
else if (process.env.CI === "true") throw new Error(`MinIO is required in CI: ${minio.reason}`);

async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  return p.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: { code?: string; message: string }) => e,
  );
}

describe.each(servers)("damage in the bucket on %s", { timeout: 180_000 }, (_name, startS3) => {
  let e: E2eService;
  let objects: ServiceClient;
  let ckpt: CheckpointClient;
  const put = async (key: string, data: Uint8Array) => (await objects.put(key, bytes(data))).info!;
  const verify = () =>
    new Promise<{ code: number; report: { ok: boolean; failures: { kind: string; name: string; problem: string }[] } }>((resolve, reject) => {
      const env = { ...process.env, O3ML_SERVICE: e.svc.address, O3ML_LOG_LEVEL: "error" };
      execFile(process.execPath, [BIN, "verify", "--json"], { env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        try {
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, report: JSON.parse(stdout) });
        } catch {
          reject(new Error(`o3ml verify printed no report: ${stderr}`));
        }
      });
    });

  beforeAll(async () => {
    e = await startE2eService({ s3: startS3, service: { chunkSize: CHUNK } });
    objects = new ServiceClient(e.svc.address);
    ckpt = new CheckpointClient(e.svc.address);
  }, 120_000);
  afterAll(async () => {
    objects?.close();
    ckpt?.close();
    await e?.stop();
  });

  it("lists a damaged object with its problem and every neighbour in full", async () => {
    const infos = [];
    for (const n of [1, 2, 3, 4]) infos.push(await put(`list/${n}.bin`, randomBytes(100 + n)));
    await objects.list("list/", 100, ""); // the service now remembers every manifest
    await e.svc.store.put(manifestKey(infos[1]!.cid!), Buffer.from("not a manifest"));
    await e.svc.store.delete(manifestKey(infos[2]!.cid!));
    // A service that remembered the manifests still reads them; a fresh reader (another service) does not.
    const peer = await startPeerService(e, { chunkSize: CHUNK });
    const fresh = new ServiceClient(peer.address);
    try {
      const listed = (await fresh.list("list/", 100, "")).objects;
      expect(listed.map((o) => o.key)).toEqual(["list/1.bin", "list/2.bin", "list/3.bin", "list/4.bin"]);
      expect(listed[0]!.problem).toBe("");
      expect(listed[0]!.sha256).toBe(infos[0]!.sha256);
      expect(listed[1]!.problem).toContain(infos[1]!.cid!);
      expect(listed[1]!.problem).toMatch(/malformed|sha2-256|hash/i);
      expect(Number(listed[1]!.size)).toBe(102);
      expect(listed[2]!.problem).toContain("missing");
      expect(listed[3]!.problem).toBe("");
      await expect(fresh.get("list/2.bin")).rejects.toMatchObject({ code: "INTEGRITY" });
    } finally {
      fresh.close();
      await peer.stop();
    }
  });

  it("reads a blob missing from the bucket as an integrity error naming the key and the CID", async () => {
    const data = randomBytes(3 * CHUNK);
    await put("missing/blob.bin", data);
    const lost = cidOf(data.subarray(CHUNK, 2 * CHUNK));
    await e.svc.store.delete(blobKey(lost));
    const err = await failure(objects.get("missing/blob.bin").then((r) => drain(r.data)));
    expect(err.code).toBe("INTEGRITY");
    expect(err.message).toContain("missing/blob.bin");
    expect(err.message).toContain(lost);
    expect(err.message).not.toMatch(/no object/);
  });

  it("o3ml verify re-reads what the service remembered and lists every one of four kinds of damage", async () => {
    const data = [0, 1, 2, 3, 4].map(() => randomBytes(2 * CHUNK));
    const infos = [];
    for (const [i, d] of data.entries()) infos.push(await put(`verify/${i}.bin`, d));
    const saved = await ckpt.save({ key: "verify/ckpt/step=1.ckpt", run: "verify-run", step: 1 }, [
      { name: "data.pkl", kind: "skeleton", data: randomBytes(300) },
      { name: "0", kind: "storage", dtype: "float32", data: randomBytes(CHUNK + 8) },
    ]);
    // Read everything once, so the service holds every manifest in memory.
    for (const [i] of data.entries()) await drain((await objects.get(`verify/${i}.bin`)).data);
    await ckpt.verify(saved.cid);
    // Earlier tests left damage elsewhere in this bucket: only this test's keys are looked at.
    const mine = (r: Awaited<ReturnType<typeof verify>>) => r.report.failures.filter((f) => f.name.startsWith("verify/"));
    expect(mine(await verify())).toEqual([]);

    const flipped = Buffer.from(data[0]!.subarray(0, CHUNK));
    flipped[7] = flipped[7]! ^ 1;
    await e.svc.store.put(blobKey(cidOf(data[0]!.subarray(0, CHUNK))), flipped);
    await e.svc.store.put(blobKey(cidOf(data[1]!.subarray(CHUNK))), data[1]!.subarray(CHUNK, CHUNK + 100));
    await e.svc.store.delete(blobKey(cidOf(data[2]!.subarray(0, CHUNK))));
    await e.svc.store.put(manifestKey(infos[3]!.cid!), randomBytes(200));
    await e.svc.store.put(manifestKey(saved.cid), randomBytes(200));

    const after = await verify();
    expect(after.code).toBe(5);
    expect(after.report.ok).toBe(false);
    const named = mine(after).map((f) => f.name).join("\n");
    for (const i of [0, 1, 2, 3]) expect(named).toContain(`verify/${i}.bin`);
    expect(named).not.toContain("verify/4.bin");
    expect(named).toContain("verify/ckpt/step=1.ckpt");
    expect(mine(after)).toHaveLength(5);
    await expect(ckpt.verify(saved.cid)).rejects.toMatchObject({ code: "INTEGRITY" });
  });
});
