import { afterEach, describe, expect, it } from "vitest";
import { O3mlError } from "@o3ml/errors";
import { startFaultServer, storeAt, type FaultServer } from "./fault-server.test-support.js";

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const body = Buffer.from(Array.from({ length: 100 }, (_, i) => i));

/** The first `cutTimes` answers announce 100 bytes, send 50 and drop the connection. */
async function cutting(cutTimes: number): Promise<FaultServer> {
  server = await startFaultServer((_req, res, i) => {
    res.writeHead(200, { "content-length": body.length });
    if (i >= cutTimes) return res.end(body);
    res.write(body.subarray(0, 50), () => res.socket?.destroy());
  });
  return server;
}

describe("reading bodies cut short", () => {
  it("get() issues the GET again", async () => {
    const s = await cutting(1);
    expect(Buffer.from(await storeAt(s.endpoint).get("k")).equals(body)).toBe(true);
    expect(s.requests.length).toBe(2);
  });

  it("get() gives up after maxAttempts with UNAVAILABLE", async () => {
    const s = await cutting(100);
    const err = await storeAt(s.endpoint, { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } })
      .get("k")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(O3mlError);
    expect((err as O3mlError).code).toBe("UNAVAILABLE");
    expect(s.requests.length).toBe(3);
  });

  it("getStream() fails the stream with UNAVAILABLE instead of ending it early", async () => {
    const s = await cutting(1);
    const stream = await storeAt(s.endpoint).getStream("k");
    const err = await (async () => {
      for await (const _ of stream) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(O3mlError);
    expect((err as O3mlError).code).toBe("UNAVAILABLE");
  });
});

describe("bodies that stall", () => {
  it("get() fails a body silent for idleTimeoutMs, after retrying it", async () => {
    server = await startFaultServer((_req, res) => {
      res.writeHead(200, { "content-length": body.length });
      res.write(body.subarray(0, 50));
    });
    const store = storeAt(server.endpoint, { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 }, http: { idleTimeoutMs: 150 } });
    const started = Date.now();
    const err = await store.get("k").catch((e: unknown) => e);
    expect((err as O3mlError).code).toBe("DEADLINE_EXCEEDED");
    expect(server.requests.length).toBe(2);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("a slow reader is not a stall: pauses longer than idleTimeoutMs under backpressure are fine", async () => {
    const big = Buffer.alloc(16 * 1024 * 1024, 7);
    server = await startFaultServer((_req, res) => {
      res.writeHead(200, { "content-length": big.length });
      res.end(big);
    });
    const stream = await storeAt(server.endpoint, { http: { idleTimeoutMs: 100 } }).getStream("k");
    let total = 0;
    let paused = false;
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (!paused) {
        paused = true;
        await new Promise((r) => setTimeout(r, 400));
      }
    }
    expect(total).toBe(big.length);
  });
});
