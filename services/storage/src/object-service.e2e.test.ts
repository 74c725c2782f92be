import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceClient } from "@o3ml/client";
import { startE2eService, type E2eService } from "./e2e-service.test-support.js";

/** ObjectService.Copy, create-only puts (if_absent), listing under a prefix and how routine answers are logged, against moto. */
const MiB = 1024 * 1024;

async function* once(b: Uint8Array) {
  yield b;
}

async function bytesOf(data: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of data) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}

async function failure(p: Promise<unknown>): Promise<{ code?: string; message?: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as { code?: string; message?: string },
  );
  expect(err, "expected a failure").toBeDefined();
  return err!;
}

describe("the object service: copy, create-only puts, prefixes, logging", { timeout: 120_000 }, () => {
  let e: E2eService;
  let c: ServiceClient;
  const logged: { level: number; method?: string; code?: string; msg: string }[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(line: Buffer, _enc, done) {
        logged.push(JSON.parse(line.toString()));
        done();
      },
    });
    e = await startE2eService({ log: pino({ level: "debug" }, sink) });
    c = new ServiceClient(e.svc.address);
  }, 120_000);
  afterAll(async () => {
    c?.close();
    await e?.stop();
  });

  const counter = async (name: "storeBytesWritten" | "storeBytesRead") => (await e.svc.metrics[name].get()).values.reduce((n, v) => n + v.value, 0);

  it("copies on the service's side: a new ref to the same manifest, no blob read or written", async () => {
    const data = randomBytes(3 * MiB + 17);
    const put = await c.put("copy/src.bin", once(data), { size: data.length, contentType: "application/x-test", labels: { a: "1" } });
    const written = await counter("storeBytesWritten");
    const read = await counter("storeBytesRead");
    const copied = await c.copy("copy/src.bin", "copy/dst/dst.bin");
    expect(copied).toMatchObject({ key: "copy/dst/dst.bin", cid: put.info!.cid, sha256: put.info!.sha256, contentType: "application/x-test", labels: { a: "1" } });
    expect(Number(copied.size)).toBe(data.length);
    // Only the new ref was written; reads are the listings of refs, never a blob.
    expect((await counter("storeBytesWritten")) - written).toBeLessThan(1024);
    expect((await counter("storeBytesRead")) - read).toBeLessThan(64 * 1024);
    expect((await bytesOf((await c.get("copy/dst/dst.bin")).data)).equals(data)).toBe(true);
    // The two keys are independent from now on.
    await c.delete("copy/src.bin");
    expect((await bytesOf((await c.get("copy/dst/dst.bin")).data)).equals(data)).toBe(true);
  });

  it("replaces the destination's value, and names a missing source", async () => {
    await c.put("copy/a.txt", once(Buffer.from("a")), { size: 1 });
    await c.put("copy/b.txt", once(Buffer.from("b")), { size: 1 });
    await c.copy("copy/a.txt", "copy/b.txt");
    expect((await bytesOf((await c.get("copy/b.txt")).data)).toString()).toBe("a");
    const missing = await failure(c.copy("copy/none.txt", "copy/c.txt"));
    expect(missing.code).toBe("NOT_FOUND");
    expect(missing.message).toContain("copy/none.txt");
    expect((await failure(c.stat("copy/c.txt"))).code).toBe("NOT_FOUND");
    expect((await failure(c.copy("copy/a.txt", "../escape"))).code).toBe("INVALID_ARGUMENT");
  });

  it("creates only an absent key with if_absent: ALREADY_EXISTS while the key has a live value", async () => {
    const first = await c.put("create/x.bin", once(Buffer.from("one")), { size: 3, ifAbsent: true });
    const again = await failure(c.put("create/x.bin", once(Buffer.from("two")), { size: 3, ifAbsent: true }));
    expect(again.code).toBe("ALREADY_EXISTS");
    expect(again.message).toContain("create/x.bin");
    expect((await c.stat("create/x.bin")).cid).toBe(first.info!.cid);
    await c.delete("create/x.bin");
    await c.put("create/x.bin", once(Buffer.from("three")), { size: 5, ifAbsent: true });
    expect((await bytesOf((await c.get("create/x.bin")).data)).toString()).toBe("three");
  });

  it("lets exactly one of many concurrent create-only puts of one key win", async () => {
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => c.put("create/race.bin", once(Buffer.from(`writer ${i}`)), { ifAbsent: true })));
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect((r.reason as { code: string }).code).toBe("ALREADY_EXISTS");
    const value = (await bytesOf((await c.get("create/race.bin")).data)).toString();
    expect(value).toBe(`writer ${results.indexOf(won[0]!)}`);
  });

  it("lists under 'a/' only what is below a/, never the object a itself", async () => {
    await c.put("nest/a", once(Buffer.from("file")), { size: 4 });
    await c.put("nest/a/b", once(Buffer.from("below")), { size: 5 });
    expect((await c.list("nest/a/", 10, "")).objects.map((o) => o.key)).toEqual(["nest/a/b"]);
    expect((await c.list("nest/a", 10, "")).objects.map((o) => o.key)).toEqual(["nest/a", "nest/a/b"]);
  });

  it("logs a Stat of a missing key at debug level, not as a warning", async () => {
    logged.length = 0;
    expect((await failure(c.stat("never/there.ckpt"))).code).toBe("NOT_FOUND");
    const mine = logged.filter((l) => l.method === "Stat" && l.code === "NOT_FOUND");
    expect(mine).toHaveLength(1);
    expect(mine[0]!.level).toBe(20); // pino's debug
    expect((await failure(c.get("never/there.ckpt"))).code).toBe("NOT_FOUND");
    // Other methods still warn (a get on the service's host asks Locate, elsewhere Get).
    expect(logged.some((l) => (l.method === "Get" || l.method === "Locate") && l.level === 40)).toBe(true);
  });
});
