import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceClient } from "@o3ml/client";
import { cidOf } from "@o3ml/integrity";
import { cacheDir } from "./colocation/host.js";
import { startE2eService, startPeerService, type E2eService } from "./e2e-service.test-support.js";
import type { RunningService } from "./server.js";

/**
 * The TypeScript client on the service's host (packages/client/src/colocation.ts): puts
 * through a staged file, gets from the verified host-cache files, and streaming wherever
 * that does not hold. The service cuts 1 MiB blobs here (e2e-service.test-support.ts).
 */
const MiB = 1024 * 1024;

async function all(data: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of data) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

/** The blobs `bytes` is cut into by a service with 1 MiB chunks. */
function cidsOf(bytes: Buffer): string[] {
  const out = [];
  for (let at = 0; at < bytes.length; at += MiB) out.push(cidOf(bytes.subarray(at, at + MiB)));
  return out;
}

describe("the TypeScript client on the service's host", () => {
  let e: E2eService;
  let client: ServiceClient;
  const staging = () => join(e.home, "staging");
  const cached = () => (existsSync(cacheDir(e.home)) ? readdirSync(cacheDir(e.home)) : []);

  beforeAll(async () => {
    e = await startE2eService();
    client = new ServiceClient(e.svc.address);
  });
  afterAll(async () => {
    client?.close();
    await e?.stop();
  });

  it("proves it shares the service's filesystem", async () => {
    expect(await client.colocated()).toEqual({ stagingDir: expect.stringContaining(e.home) });
  });

  it("puts through a staged file and gets from the host-cache files: the same bytes, nothing left staged", async () => {
    const bytes = randomBytes(3 * MiB + 5);
    let stagedWhileWriting: string[] = [];
    async function* pieces() {
      yield bytes.subarray(0, MiB);
      // The client writes each piece into its staged file as it comes.
      stagedWhileWriting = readdirSync(staging()).filter((n) => n.startsWith(`${process.pid}-`));
      yield bytes.subarray(MiB);
    }
    const put = await client.put("colo/a.bin", pieces(), { size: bytes.length });
    expect(stagedWhileWriting).toHaveLength(1);
    expect(readdirSync(staging()).filter((n) => n.endsWith(".stage"))).toEqual([]);
    expect(Number(put.info!.size)).toBe(bytes.length);
    expect(cidsOf(bytes).some((c) => cached().includes(c))).toBe(false);
    const { info, data } = await client.get("colo/a.bin");
    expect(info.sha256).toBe(put.info!.sha256);
    expect((await all(data)).equals(bytes)).toBe(true);
    // Read through the cache: its three 1 MiB blobs are there now (a streamed get does not fill
    // it); the last one, 5 bytes, came inline.
    expect(cidsOf(bytes).map((c) => cached().includes(c))).toEqual([true, true, true, false]);
  });

  it("streams a range, a small put, and everything when O3ML_COLOCATE=0", async () => {
    const bytes = randomBytes(2 * MiB + 3);
    await client.put("colo/b.bin", (async function* () { yield bytes; })(), { size: bytes.length });
    const { data } = await client.get("colo/b.bin", MiB - 1, 10);
    expect((await all(data)).equals(bytes.subarray(MiB - 1, MiB + 9))).toBe(true);
    const small = randomBytes(1000);
    await client.put("colo/small.bin", (async function* () { yield small; })(), { size: small.length });
    expect((await all((await client.get("colo/small.bin")).data)).equals(small)).toBe(true);

    process.env.O3ML_COLOCATE = "0";
    const streaming = new ServiceClient(e.svc.address);
    try {
      expect(await streaming.colocated()).toEqual({ why: expect.stringContaining("O3ML_COLOCATE") });
      const other = randomBytes(2 * MiB);
      await streaming.put("colo/c.bin", (async function* () { yield other; })(), { size: other.length });
      expect((await all((await streaming.get("colo/c.bin")).data)).equals(other)).toBe(true);
      expect(cidsOf(other).some((c) => cached().includes(c))).toBe(false);
    } finally {
      delete process.env.O3ML_COLOCATE;
      streaming.close();
    }
  });

  it("reads the rest through a stream when a named file changed after it was named, and only from the same version", async () => {
    const bytes = randomBytes(4 * MiB);
    await client.put("colo/d.bin", (async function* () { yield bytes; })(), { size: bytes.length });
    // A get whose first piece is in hand, once the service has had time to name every blob:
    // then every later blob's file loses its bytes behind the cache's back (as an eviction and
    // a new fill would show).
    const started = async () => {
      const it = (await client.get("colo/d.bin")).data[Symbol.asyncIterator]();
      const first = await it.next();
      await sleep(300);
      const later = cidsOf(bytes).slice(1);
      expect(later.every((c) => cached().includes(c))).toBe(true);
      for (const cid of later) truncateSync(join(cacheDir(e.home), cid), 10);
      return { it, first: Buffer.from(first.value as Uint8Array) };
    };
    const { it, first } = await started();
    const rest: Buffer[] = [first];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(Buffer.from(r.value));
    expect(Buffer.concat(rest).equals(bytes)).toBe(true);

    // The same once more, but the object is replaced before the rest is read: ABORTED, never a mix.
    const again = await started();
    const replaced = randomBytes(4 * MiB);
    await client.put("colo/d.bin", (async function* () { yield replaced; })(), { size: replaced.length });
    await expect((async () => {
      for (let r = await again.it.next(); !r.done; r = await again.it.next());
    })()).rejects.toMatchObject({ code: "ABORTED", message: expect.stringContaining("replaced") });
  });

  it("fails a staged put whose bytes fall short of the size it declared, committing nothing", async () => {
    const bytes = randomBytes(2 * MiB);
    await expect(client.put("colo/short.bin", (async function* () { yield bytes; })(), { size: bytes.length + 1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(client.stat("colo/short.bin")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(readdirSync(staging()).filter((n) => n.endsWith(".stage"))).toEqual([]);
  });

  // An object of one chunk takes its sha2-256 from its chunk's CID instead of hashing it twice.
  it("records the sha2-256 of the whole object however it came: one chunk or several, staged or streamed, size declared or not", async () => {
    process.env.O3ML_COLOCATE = "0";
    const streaming = new ServiceClient(e.svc.address);
    delete process.env.O3ML_COLOCATE;
    try {
      const sizes = [0, 1, MiB - 1, MiB, MiB + 1, 2 * MiB];
      for (const [how, c, declare] of [["staged", client, true], ["streamed", streaming, true], ["streamed, size not declared", streaming, false]] as const) {
        for (const size of sizes) {
          const bytes = randomBytes(size);
          const key = `colo/sha/${how}/${size}`;
          const put = await c.put(key, (async function* () { yield bytes; })(), declare ? { size } : {});
          expect(put.info!.sha256, `${how}, ${size} bytes`).toBe(sha256Hex(bytes));
          expect((await client.stat(key)).sha256).toBe(sha256Hex(bytes));
        }
      }
      // The client's own digest is still checked against it.
      const one = randomBytes(MiB);
      for (const c of [client, streaming]) {
        await expect(c.put("colo/sha/claimed.bin", (async function* () { yield one; })(), { size: one.length, sha256: () => sha256Hex(randomBytes(8)) })).rejects.toMatchObject({ code: "INTEGRITY" });
      }
      await expect(client.stat("colo/sha/claimed.bin")).rejects.toMatchObject({ code: "NOT_FOUND" });
    } finally {
      streaming.close();
    }
  });
});

const sha256Hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("the TypeScript client when another service takes over the address", () => {
  // The channel reconnects on its own; the staging directory the client learnt is the old service's.
  it("streams the put the new service cannot see staged, from the staged file, then stages in the new service's directory", async () => {
    const e = await startE2eService();
    const client = new ServiceClient(e.svc.address);
    let next: RunningService | undefined;
    try {
      expect(await client.colocated()).toEqual({ stagingDir: join(e.home, "staging") });
      await e.svc.stop();
      next = await startPeerService(e, { listen: e.svc.address, chunkSize: MiB });
      const bytes = randomBytes(2 * MiB + 3);
      const hash = createHash("sha256");
      const put = await client.put("colo/moved.bin", (async function* () { hash.update(bytes); yield bytes; })(), { size: bytes.length, sha256: () => hash.digest("hex") });
      expect(put.info!.sha256).toBe(sha256Hex(bytes));
      expect(readdirSync(join(e.home, "staging")).filter((n) => n.endsWith(".stage"))).toEqual([]);
      const now = await client.colocated();
      expect(now).toEqual({ stagingDir: expect.not.stringContaining(e.home) });
      // The next put is staged there, and both read back whole.
      const again = randomBytes(MiB + 1);
      let stagedWhileWriting: string[] = [];
      await client.put("colo/moved-again.bin", (async function* () {
        yield again.subarray(0, MiB);
        stagedWhileWriting = readdirSync((now as { stagingDir: string }).stagingDir).filter((n) => n.startsWith(`${process.pid}-`));
        yield again.subarray(MiB);
      })(), { size: again.length });
      expect(stagedWhileWriting).toHaveLength(1);
      expect((await all((await client.get("colo/moved.bin")).data)).equals(bytes)).toBe(true);
      expect((await all((await client.get("colo/moved-again.bin")).data)).equals(again)).toBe(true);
    } finally {
      client.close();
      await next?.stop();
      await e.s3.stop();
    }
  });

  it("asks again after a handshake no service answered, and uses files once one does", async () => {
    const e = await startE2eService();
    const address = e.svc.address;
    await e.svc.stop();
    const client = new ServiceClient(address);
    let next: RunningService | undefined;
    try {
      expect(await client.colocated()).toEqual({ why: expect.stringContaining("no service answered") });
      next = await startPeerService(e, { listen: address, chunkSize: MiB });
      // The channel retries its connection with a backoff of about a second.
      let now = await client.colocated();
      for (const until = Date.now() + 20_000; !("stagingDir" in now) && Date.now() < until; now = await client.colocated()) await sleep(200);
      expect(now).toEqual({ stagingDir: expect.stringContaining("o3ml-home-peer-") });
    } finally {
      client.close();
      await next?.stop();
      await e.s3.stop();
    }
  });
});
