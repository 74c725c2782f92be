import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, startMoto, type S3Server } from "@o3ml/standin";
import { o3ml, startServe, type Served } from "../../cli/src/cli.test-support.js";

/**
 * Readiness of `o3ml serve` as `o3ml health` (grpc.health.v1) reports it: a
 * service whose store does not answer yet listens, but says NOT_SERVING
 * until the store is there, so a load balancer or a container's HEALTHCHECK
 * sends it nothing it would fail.
 */
describe("o3ml serve readiness", { timeout: 180_000 }, () => {
  let s3: S3Server | undefined;
  let s: Served | undefined;
  afterAll(async () => {
    await s?.stop();
    await s3?.stop();
    if (s) rmSync(s.home, { recursive: true, force: true });
  });

  it("says NOT_SERVING while its store does not answer, and SERVING once it does", async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    s = await startServe(["--create-bucket"], {
      O3ML_ENDPOINT: endpoint,
      O3ML_ACCESS_KEY_ID: "o3ml-local",
      O3ML_SECRET_ACCESS_KEY: "o3ml-local-secret",
      O3ML_BUCKET: "readiness",
    });
    const before = await o3ml(["health", "--json"], s.env());
    expect(before.code).toBe(6);
    expect(before.stderr).toContain(`the o3ml service at ${s.address} is NOT_SERVING`);
    expect(JSON.parse(before.stdout)).toMatchObject({ error: { code: "UNAVAILABLE", details: { status: "NOT_SERVING" } } });

    s3 = await startMoto({ port });
    // The service checks its store again, less often each time; the test's timeout bounds the wait.
    let health = before;
    while (health.code !== 0) {
      await sleep(250);
      health = await o3ml(["health", "--json"], s.env());
    }
    expect(JSON.parse(health.stdout)).toEqual({ address: s.address, status: "SERVING" });
    // SERVING means the bucket is there: a listing of it goes through.
    const listed = await o3ml(["ls", "--json"], s.env());
    expect(listed.code, listed.stderr).toBe(0);
  });
});
