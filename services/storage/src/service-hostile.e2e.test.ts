import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, makeGenericClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceClient } from "@o3ml/client";
import { grpcService } from "@o3ml/proto";
import { freePort, startMoto, type S3Server } from "@o3ml/standin";
import type { O3Config } from "@o3ml/o3-client";
import { startService } from "./server.js";

/**
 * Hostile conditions around the service: each gets a clear error naming what
 * is wrong, and the service keeps serving afterwards.
 */
const configFor = (s3: S3Server, bucket: string): O3Config => ({
  endpoint: s3.endpoint,
  region: s3.region,
  accessKeyId: s3.accessKeyId,
  secretAccessKey: s3.secretAccessKey,
  bucket,
  profile: "o3",
});

describe("storage service under hostile conditions", () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startMoto();
    process.env.O3ML_HOME = mkdtempSync(join(tmpdir(), "o3ml-home-"));
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it("refuses a Put data message over 4 MiB and keeps serving", async () => {
    const svc = await startService({ listen: "127.0.0.1:0", createBucket: true }, { config: configFor(s3, "o3ml-hostile-limit") });
    try {
      const Raw = makeGenericClientConstructor(grpcService("ObjectService"), "ObjectService");
      const raw = new Raw(svc.address, credentials.createInsecure(), { "grpc.max_send_message_length": 128 * 1024 * 1024 }) as unknown as Record<string, (...a: unknown[]) => { write(m: object): void; end(): void }> & { close(): void };
      const err = await new Promise<ServiceError>((resolve) => {
        const call = raw.put!((e: ServiceError | null) => resolve(e as ServiceError));
        call.write({ header: { key: "big/message" } });
        call.write({ data: Buffer.alloc(5 * 1024 * 1024, 1) });
        call.end();
      });
      raw.close();
      expect(err.metadata.get("o3ml-code")[0]).toBe("RESOURCE_EXHAUSTED");
      expect(err.details).toContain("4 MiB");
      const client = new ServiceClient(svc.address);
      await expect(client.stat("big/message")).rejects.toMatchObject({ code: "NOT_FOUND" });
      await client.put("after/limit", (async function* () {
        yield Buffer.from("still serving");
      })());
      await expect(client.stat("after/limit")).resolves.toMatchObject({ key: "after/limit" });
      client.close();
    } finally {
      await svc.stop();
    }
  });

  it("refuses to start on a missing bucket, naming it and --create-bucket, and creates it when asked", async () => {
    const bucket = `o3ml-no-such-bucket-${Date.now()}`;
    await expect(startService({ listen: "127.0.0.1:0", createBucket: false }, { config: configFor(s3, bucket) })).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      message: expect.stringMatching(new RegExp(`${bucket}.*--create-bucket`)),
    });
    const svc = await startService({ listen: "127.0.0.1:0", createBucket: true }, { config: configFor(s3, bucket) });
    const client = new ServiceClient(svc.address);
    try {
      await client.put("after/create", (async function* () {
        yield Buffer.from("bucket made at start");
      })());
      await expect(client.stat("after/create")).resolves.toMatchObject({ key: "after/create" });
    } finally {
      client.close();
      await svc.stop();
    }
  });

  it("refuses to start on a bucket name against Akave's rules, saying the rule", async () => {
    await expect(startService({ listen: "127.0.0.1:0" }, { config: configFor(s3, "Bad_Bucket") })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("Bad_Bucket"),
    });
  });

  it("fails fast with the endpoint named when the store is unreachable, and keeps serving", async () => {
    const closed = await freePort();
    const endpoint = `http://127.0.0.1:${closed}`;
    const svc = await startService({ listen: "127.0.0.1:0" }, { config: { ...configFor(s3, "o3ml-unreachable"), endpoint } });
    const client = new ServiceClient(svc.address);
    try {
      for (let i = 0; i < 2; i++) {
        const started = Date.now();
        const err = await client.stat("any/key").then(() => undefined, (e: { code: string; message: string }) => e);
        expect(err?.code).toBe("UNAVAILABLE");
        expect(err?.message).toContain(`127.0.0.1:${closed}`);
        // Fail fast: a closed port must not be retried for minutes.
        expect(Date.now() - started).toBeLessThan(15_000);
      }
    } finally {
      client.close();
      await svc.stop();
    }
  });
});
