import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { O3mlError } from "@o3ml/errors";
import { ok, s3Error, startFaultServer, storeAt, type FaultServer, type Responder } from "./fault-server.test-support.js";
import { FullJitterBackoff, isConnectError } from "./retry-strategy.js";

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Answers request i with script[i] (the last entry repeats). */
async function scripted(...script: Responder[]): Promise<FaultServer> {
  server = await startFaultServer((req, res, i) => script[Math.min(i, script.length - 1)]!(req, res, i));
  return server;
}

async function failure(p: Promise<unknown>): Promise<O3mlError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(O3mlError);
  return err as O3mlError;
}

describe("retries", () => {
  it("retries 5xx and SlowDown, then succeeds", async () => {
    const s = await scripted(
      (_q, r) => s3Error(r, 503, "SlowDown"),
      (_q, r) => s3Error(r, 500, "InternalError"),
      (_q, r) => ok(r, "hello"),
    );
    expect(Buffer.from(await storeAt(s.endpoint).get("k")).toString()).toBe("hello");
    expect(s.requests.length).toBe(3);
  });

  it("retries a connection reset", async () => {
    const s = await scripted((_q, r) => r.socket?.destroy(), (_q, r) => ok(r, "after reset"));
    expect(Buffer.from(await storeAt(s.endpoint).get("k")).toString()).toBe("after reset");
    expect(s.requests.length).toBe(2);
  });

  it.each([
    [400, "InvalidArgument", "INVALID_ARGUMENT"],
    [403, "AccessDenied", "PERMISSION_DENIED"],
    [404, "NoSuchKey", "NOT_FOUND"],
    [416, "InvalidRange", "INVALID_ARGUMENT"],
  ] as const)("never retries %i %s", async (status, code, expected) => {
    const s = await scripted((_q, r) => s3Error(r, status, code));
    expect((await failure(storeAt(s.endpoint).get("k"))).code).toBe(expected);
    expect(s.requests.length).toBe(1);
  });

  it("gives up after maxAttempts with UNAVAILABLE naming the endpoint and the attempts", async () => {
    const s = await scripted((_q, r) => s3Error(r, 500, "InternalError"));
    const err = await failure(storeAt(s.endpoint, { retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 } }).get("k"));
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.message).toContain(s.endpoint);
    expect(err.message).toContain("4 attempts");
    expect(s.requests.length).toBe(4);
  });

  it("retries a request that times out, then reports DEADLINE_EXCEEDED", async () => {
    const s = await scripted(() => undefined);
    const store = storeAt(s.endpoint, { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 }, http: { requestTimeoutMs: 300 } });
    const err = await failure(store.get("k"));
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    expect(s.requests.length).toBe(2);
  });
});

describe("FullJitterBackoff", () => {
  it("waits a random time below min(cap, base × 2^attempt)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 60_000 }), (attempt, base, cap) => {
        const d = new FullJitterBackoff(base, cap).computeNextBackoffDelay(attempt);
        return Number.isInteger(d) && d >= 0 && d < Math.min(cap, base * 2 ** attempt);
      }),
    );
  });
});

describe("isConnectError", () => {
  it("recognises refused connections, unknown hosts and connect timeouts, also as causes", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    expect(isConnectError(refused)).toBe(true);
    expect(isConnectError(new Error("wrapped", { cause: refused }))).toBe(true);
    expect(isConnectError(new Error("the request socket did not establish a connection with the server within 3000 ms"))).toBe(true);
    expect(isConnectError(Object.assign(new Error("reset"), { code: "ECONNRESET" }))).toBe(false);
  });
});
