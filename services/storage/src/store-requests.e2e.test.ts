import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceClient } from "@o3ml/client";
import { startStandin, type Standin } from "@o3ml/standin";
import { drain, startE2eService, streamOf, type E2eService } from "./e2e-service.test-support.js";

/**
 * `o3ml_store_requests_total` against what the store received: the O3-profile layer in front of
 * moto counts every request that reaches it, retried ones and those it refuses included.
 */
describe("o3ml_store_requests_total", () => {
  let e: E2eService;
  let layer: Standin;
  let client: ServiceClient;
  const MiB = 1024 * 1024;
  const counted = async () => {
    const values = (await e.svc.metrics.storeRequests.get()).values;
    return { total: values.reduce((n, v) => n + v.value, 0), byOp: Object.fromEntries(values.map((v) => [String(v.labels.op), v.value])) as Record<string, number> };
  };

  beforeAll(async () => {
    e = await startE2eService({ s3: async () => (layer = await startStandin()) });
    client = new ServiceClient(e.svc.address);
  });
  afterAll(async () => {
    client?.close();
    await e?.stop();
  });

  it("counts each request the store received: every listing, every version a delete removes, the fetch thread's reads", async () => {
    const before = { metric: await counted(), seen: layer.stats().requests };
    const bytes = randomBytes(3 * MiB + 5);
    await client.put("req/a.bin", streamOf(bytes), { size: bytes.length });
    expect((await drain((await client.get("req/a.bin")).data)).equals(bytes)).toBe(true);
    await client.stat("req/a.bin");
    expect((await client.list("req/", 100, "")).objects).toHaveLength(1);
    await client.delete("req/a.bin");
    await client.put("req/b.bin", streamOf(Buffer.from("small")), { size: 5 });
    const after = { metric: await counted(), seen: layer.stats().requests };
    expect(after.metric.total - before.metric.total).toBe(after.seen - before.seen);
    // The gets and stats of this service read the key's refs with a LIST each: they were not counted before.
    expect((after.metric.byOp.list ?? 0) - (before.metric.byOp.list ?? 0)).toBeGreaterThanOrEqual(3);
  });

  it("counts each attempt of a request the store refused and the service sent again", async () => {
    layer.setFaults({ rules: [{ kind: "internal-error", operations: "GET", at: [1], limit: 1 }] });
    try {
      const before = { metric: await counted(), seen: layer.stats().requests };
      const bytes = randomBytes(2 * MiB);
      await client.put("req/c.bin", streamOf(bytes), { size: bytes.length });
      expect((await drain((await client.get("req/c.bin", 0, 0, { fromStore: true })).data)).equals(bytes)).toBe(true);
      const after = { metric: await counted(), seen: layer.stats().requests };
      expect(layer.stats().faults["internal-error"]).toBe(1);
      expect(after.metric.total - before.metric.total).toBe(after.seen - before.seen);
    } finally {
      layer.setFaults({ rules: [] });
    }
  });
});
