import { randomBytes } from "node:crypto";
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isO3mlError } from "@o3ml/errors";
import type { FaultKind } from "./fault-plan.js";
import { startO3Profile, type O3ProfileServer } from "./o3-profile.js";
import { s3ClientFor } from "./s3-client-for.js";
import type { S3Server } from "./s3-server.js";
import { uniqueBucket, upstreamCases } from "./upstreams.fixture.js";

const MiB = 1024 * 1024;

for (const upstreamCase of upstreamCases()) {
  describe.skipIf(!upstreamCase.start)(`fault injection over ${upstreamCase.name}`, { timeout: 30_000 }, () => {
    let upstream: S3Server;
    let proxy: O3ProfileServer;
    // No SDK retries: every injected fault must reach the test.
    let s3: S3Client;
    let bucket: string;
    const blob = randomBytes(MiB);

    beforeAll(async () => {
      upstream = await upstreamCase.start!();
      proxy = await startO3Profile(upstream);
      s3 = s3ClientFor(proxy, { maxAttempts: 1 });
      bucket = uniqueBucket("o3p-faults");
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "data/blob", Body: blob }));
    }, 60_000);
    afterEach(() => proxy.setFaults({ rules: [] }));
    afterAll(async () => {
      await proxy?.stop();
      await upstream?.stop();
    }, 30_000);

    const injected = (kind: FaultKind) => proxy.stats().faults[kind];
    const getBlob = async (key = "data/blob") => {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    };
    const outcome = (p: Promise<unknown>) => p.then(() => "ok", (e: { name?: string }) => e.name ?? "error");

    it("answers 500 InternalError on exactly the scheduled requests", async () => {
      const before = injected("internal-error");
      proxy.setFaults({ rules: [{ kind: "internal-error", operations: "GET", every: 2 }] });
      const results = [];
      for (let i = 0; i < 6; i++) results.push(await outcome(getBlob()));
      expect(results).toEqual(["ok", "InternalError", "ok", "InternalError", "ok", "InternalError"]);
      expect(injected("internal-error") - before).toBe(3);
    });

    it("answers 503 SlowDown at the configured rate, the same way for the same seed", async () => {
      const plan = { seed: 7, rules: [{ kind: "slow-down" as const, operations: "HEAD" as const, rate: 0.5 }] };
      const run = async () => {
        proxy.setFaults(plan);
        const results = [];
        for (let i = 0; i < 40; i++) results.push(await outcome(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "data/blob" }))));
        return results;
      };
      const before = injected("slow-down");
      const first = await run();
      const failures = first.filter((r) => r !== "ok");
      // HEAD answers have no body, so the SDK names the error after the status.
      expect(new Set(failures).size).toBeLessThanOrEqual(1);
      expect(failures.length).toBeGreaterThan(8);
      expect(failures.length).toBeLessThan(32);
      expect(injected("slow-down") - before).toBe(failures.length);
      expect(await run()).toEqual(first);
      const plain = s3ClientFor(proxy, { maxAttempts: 1 });
      proxy.setFaults({ rules: [{ kind: "slow-down", operations: "GET" }] });
      await expect(plain.send(new GetObjectCommand({ Bucket: bucket, Key: "data/blob" }))).rejects.toMatchObject({
        name: "SlowDown",
        $metadata: { httpStatusCode: 503 },
      });
      plain.destroy();
    });

    it("resets the connection", async () => {
      const before = injected("reset");
      proxy.setFaults({ rules: [{ kind: "reset", operations: "GET", at: [1] }] });
      const err = await getBlob().then(() => undefined, (e: NodeJS.ErrnoException) => e);
      expect(err?.code ?? err?.name).toMatch(/ECONNRESET|EPIPE/);
      expect(injected("reset") - before).toBe(1);
      expect((await getBlob()).equals(blob)).toBe(true);
    });

    it("after the upstream acted, a reset leaves the write done but unacknowledged", async () => {
      proxy.setFaults({ rules: [{ kind: "reset", operations: "PUT", keyPrefix: "ambiguous/", phase: "after-upstream" }] });
      await expect(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "ambiguous/a", Body: "written" }))).rejects.toBeDefined();
      proxy.setFaults({ rules: [] });
      expect((await getBlob("ambiguous/a")).toString()).toBe("written");
    });

    it("truncates a response body", async () => {
      const before = injected("truncate");
      proxy.setFaults({ rules: [{ kind: "truncate", operations: "GET", keepBytes: 1000 }] });
      const got = await getBlob().then((b) => b, (e: Error) => e);
      if (Buffer.isBuffer(got)) expect(got.length).toBe(1000);
      else expect(got).toBeInstanceOf(Error);
      expect(injected("truncate") - before).toBe(1);
    });

    it("flips one bit of a response body", async () => {
      const before = injected("bit-flip");
      proxy.setFaults({ seed: 3, rules: [{ kind: "bit-flip", operations: "GET" }] });
      const got = await getBlob();
      expect(got.length).toBe(blob.length);
      const diffs = [...got].map((b, i) => b ^ blob[i]!).filter((d) => d !== 0);
      expect(diffs).toHaveLength(1);
      expect(Math.log2(diffs[0]!) % 1).toBe(0);
      expect(injected("bit-flip") - before).toBe(1);
    });

    it("adds latency before forwarding", async () => {
      const before = injected("latency");
      proxy.setFaults({ rules: [{ kind: "latency", operations: "HEAD", ms: 300 }] });
      const started = Date.now();
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "data/blob" }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(injected("latency") - before).toBe(1);
    });

    it("never forwards a request whose client left while a latency held it back", async () => {
      // As a writer killed between two requests: the held request must not reach the store.
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "data/kept", Body: "kept" }));
      proxy.setFaults({ rules: [{ kind: "latency", operations: ["DELETE", "PUT"], ms: 1500 }] });
      const gone = async (p: (signal: AbortSignal) => Promise<unknown>) => {
        const leave = new AbortController();
        const sent = p(leave.signal).catch(() => "aborted");
        await new Promise((r) => setTimeout(r, 200));
        leave.abort();
        expect(await sent).toBe("aborted");
      };
      await gone((abortSignal) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "data/kept" }), { abortSignal }));
      await gone((abortSignal) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: "data/never", Body: "x" }), { abortSignal }));
      await new Promise((r) => setTimeout(r, 1800)); // past the latency: a forwarded request would have landed
      proxy.setFaults({ rules: [] });
      expect((await getBlob("data/kept")).toString()).toBe("kept");
      expect(await outcome(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "data/never" })))).toBe("NotFound");
    });

    it("stalls a response mid-body, and a bodiless one before its headers", async () => {
      const before = injected("stall");
      proxy.setFaults({ rules: [{ kind: "stall", operations: ["GET", "HEAD"], ms: 600 }] });
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "data/blob" }));
      const headersAt = Date.now();
      const body = Buffer.from(await out.Body!.transformToByteArray());
      // The headers came first; the body then waited out the stall.
      expect(Date.now() - headersAt).toBeGreaterThanOrEqual(550);
      expect(body.equals(blob)).toBe(true);
      const headStarted = Date.now();
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "data/blob" }));
      expect(Date.now() - headStarted).toBeGreaterThanOrEqual(590);
      expect(injected("stall") - before).toBe(2);
    });

    it("scopes faults by operation and key prefix", async () => {
      proxy.setFaults({ rules: [{ kind: "internal-error", operations: "PUT", keyPrefix: "flaky/" }] });
      await expect(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "flaky/a", Body: "x" }))).rejects.toMatchObject({ name: "InternalError" });
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "steady/a", Body: "x" }));
      expect((await getBlob("steady/a")).toString()).toBe("x");
      expect(proxy.stats().rules).toEqual([{ kind: "internal-error", considered: 1, fired: 1 }]);
    });

    it("refuses a plan it cannot carry out", () => {
      let caught: unknown;
      try {
        proxy.setFaults({ rules: [{ kind: "latency", rate: 3 }] });
      } catch (err) {
        caught = err;
      }
      expect(isO3mlError(caught, "INVALID_ARGUMENT")).toBe(true);
    });
  });
}
