import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { checkHealth, ServiceClient, type HealthStatus } from "@o3ml/client";
import { startServe, type Served } from "../../cli/src/cli.test-support.js";

/**
 * A graceful stop of `o3ml serve` (SIGTERM, as systemd and container engines
 * send it on a rolling restart), on a real service process: what was running
 * finishes, what comes after is refused, and the process exits 0.
 */
const CHUNK = 256 * 1024;
const chunkAt = (i: number) => Buffer.alloc(CHUNK, (i * 31 + 7) % 251);

/** A streamed put whose body stops after `before` chunks until `resume` is called (or forever). */
function pausedBody(before: number, after: number) {
  let reached!: () => void;
  let resume!: () => void;
  const paused = new Promise<void>((r) => (reached = r));
  const resumed = new Promise<void>((r) => (resume = r));
  const hash = createHash("sha256");
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < before + after; i++) {
      if (i === before) {
        reached();
        await resumed;
      }
      const c = chunkAt(i);
      hash.update(c);
      yield c;
    }
  }
  return { body: body(), paused, resume, digest: () => hash.digest("hex") };
}

async function healthOf(s: Served): Promise<HealthStatus | "unreachable"> {
  return checkHealth(s.address).catch(() => "unreachable" as const);
}

async function bytesWritten(s: Served): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`)).text();
  return Number(/^o3ml_store_bytes_written_total(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0);
}

async function until(_what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  // No time limit of its own: the test's timeout bounds it, so a slow machine only waits longer.
  while (!(await check())) await sleep(50);
}

describe("o3ml serve drains on SIGTERM", { timeout: 180_000 }, () => {
  const running: Served[] = [];
  const clients: ServiceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of running) await s.stop();
    for (const s of running) rmSync(s.home, { recursive: true, force: true });
  });
  const client = (s: Served) => {
    const c = new ServiceClient(s.address);
    clients.push(c);
    return c;
  };

  it("lets a streamed put that is running finish, refuses new calls with UNAVAILABLE, and exits 0; the object reads back intact", async () => {
    const s = await startServe(["--drain-seconds", "120", "--metrics", "127.0.0.1:0"]);
    running.push(s);
    expect(await healthOf(s)).toBe("SERVING");
    const put = pausedBody(16, 48);
    const done = client(s).put("drain/big.bin", put.body);
    await put.paused;
    // The service holds the call once it stores some of its body (1 MiB blobs): wait until it does.
    await until("the service stores the put", async () => (await bytesWritten(s)) > 0);

    s.kill("SIGTERM");
    await until("NOT_SERVING", async () => (await healthOf(s)) === "NOT_SERVING");
    expect(s.stderr()).toContain("SIGTERM: shutting down; new calls are refused, 1 running calls get up to 120 s to finish");
    const refused = await client(s).stat("drain/other.bin").then(() => undefined, (e: { code?: string; message?: string }) => e);
    expect(refused?.code).toBe("UNAVAILABLE");
    expect(refused?.message).toContain("shutting down");

    put.resume();
    const info = await done;
    expect(Number(info.info?.size ?? (info as { size?: number }).size)).toBe(64 * CHUNK);
    expect(await s.exited).toBe(0);

    const again = await startServe([], {}, s.home);
    running.push(again);
    const got = await client(again).get("drain/big.bin");
    const hash = createHash("sha256");
    for await (const c of got.data) hash.update(c);
    expect(hash.digest("hex")).toBe(put.digest());
  });

  it("cuts off a call that is still running when --drain-seconds has passed, then exits 0", async () => {
    const s = await startServe(["--drain-seconds", "1", "--metrics", "127.0.0.1:0"]);
    running.push(s);
    const stuck = pausedBody(8, 4);
    const failed = client(s).put("drain/stuck.bin", stuck.body).then(() => "completed", (e: { code?: string }) => e.code);
    await stuck.paused;
    await until("the service stores the put", async () => (await bytesWritten(s)) > 0);
    s.kill("SIGTERM");
    expect(await s.exited).toBe(0);
    expect(s.stderr()).toContain("cut off 1 calls still running after 1 s (--drain-seconds)");
    expect(await failed).not.toBe("completed");
    stuck.resume();
  });

  it("stops at once on a second signal while draining", async () => {
    const s = await startServe(["--drain-seconds", "3600", "--metrics", "127.0.0.1:0"]);
    running.push(s);
    const stuck = pausedBody(8, 4);
    const failed = client(s).put("drain/stuck.bin", stuck.body).then(() => "completed", (e: { code?: string }) => e.code);
    await stuck.paused;
    await until("the service stores the put", async () => (await bytesWritten(s)) > 0);
    s.kill("SIGINT");
    await until("draining", () => s.stderr().includes("running calls get up to 3600 s"));
    s.kill("SIGINT");
    expect(await s.exited).toBe(130);
    expect(s.stderr()).toContain("SIGINT again: stopping at once, cutting off 1 running calls");
    expect(await failed).not.toBe("completed");
    stuck.resume();
  });
});
