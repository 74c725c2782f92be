import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { CheckpointClient } from "@o3ml/client";
import { startStandin } from "@o3ml/standin";
import { startE2eService, type E2eService } from "../e2e-service.test-support.js";

/**
 * `committed` then `durable`: on the O3-profile stand-in, HeadObject says
 * `Network-State: pending` for a while after a write, then `done`; on plain
 * moto there is no such header and `committed` is final.
 */
describe("checkpoint durability", { timeout: 120_000 }, () => {
  let e: E2eService | undefined;
  let client: CheckpointClient | undefined;
  afterEach(async () => {
    client?.close();
    await e?.stop();
  });
  const save = (c: CheckpointClient, key: string) =>
    c.save({ key, run: "dur-run", step: 1 }, [
      { name: "data.pkl", kind: "skeleton", data: randomBytes(300) },
      { name: "0", kind: "storage", dtype: "float32", data: randomBytes(2 * 1024 * 1024 + 9) },
    ]);

  it("becomes durable once the O3-profile stand-in reports the data on the network", async () => {
    e = await startE2eService({ s3: () => startStandin({ networkDelayMs: 1500 }) });
    client = new CheckpointClient(e.svc.address);
    const info = await save(client, "dur/a.ckpt");
    expect(info.state).toBe("committed");
    expect((await client.stat(info.cid)).state).toBe("committed");
    await expect.poll(async () => (await client!.stat(info.cid)).state, { timeout: 20_000, interval: 200 }).toBe("durable");
    const record = await e.svc.metadata.index.getCheckpoint(info.cid);
    expect(record.networkRootCid).toBeTruthy();
    expect(Date.parse(record.durableAt!) - Date.parse(record.committedAt)).toBeGreaterThanOrEqual(1000);
  });

  it("stays committed on a store without network headers", async () => {
    e = await startE2eService();
    client = new CheckpointClient(e.svc.address);
    expect((await e.svc.store.capabilities()).networkHeaders).toBe(false);
    const info = await save(client, "dur/b.ckpt");
    await new Promise((r) => setTimeout(r, 2000));
    expect((await client.stat(info.key)).state).toBe("committed");
  });
});
