import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, makeGenericClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointClient, DatasetClient, MAX_HAS_CIDS, MetadataClient, ServiceClient } from "@o3ml/client";
import { cidOf } from "@o3ml/integrity";
import { grpcService } from "@o3ml/proto";
import { startMoto, startStandin, type S3Server, type Standin } from "@o3ml/standin";
import { startE2eService, type E2eService } from "./e2e-service.test-support.js";
import { CONTENT_TYPE_MAX_BYTES } from "./labels.js";
import { ROOT } from "@o3ml/repository";
import { startService } from "./server.js";

/**
 * The wire contract where a client can bend it: listen addresses that only
 * look like loopback, PutHeader.expected_size without has_expected_size,
 * oversized content types, keys with control characters, and BlobService.Has
 * over its limit or cancelled. Real gRPC on loopback; the store is moto behind
 * the O3-profile layer, whose fault counters count the HEADs that reach it.
 */
type Call = { write(m: object): void; end(): void; cancel(): void; on(e: string, f: (...a: unknown[]) => void): void };
type Raw = Record<string, (...a: unknown[]) => Call> & { close(): void };

function raw(service: string, address: string): Raw {
  const Ctor = makeGenericClientConstructor(grpcService(service), service);
  return new Ctor(address, credentials.createInsecure(), { "grpc.max_send_message_length": 64 << 20 }) as unknown as Raw;
}

/** A Put through the generated message types, with the header exactly as given. */
function rawPut(client: Raw, header: object, data: Buffer[]): Promise<ServiceError | undefined> {
  return new Promise((resolve) => {
    const call = client.put!((err: ServiceError | null) => resolve(err ?? undefined));
    call.write({ header });
    for (const d of data) call.write({ data: d });
    call.end();
  });
}

const codeOf = (err: unknown) => (err as ServiceError | undefined)?.metadata?.get("o3ml-code")[0] ?? (err as { code?: string } | undefined)?.code;
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as { code: string; message: string });

describe("listen addresses that only look like loopback", () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startMoto();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it.each(["127.evil.example:0", "127.0.0.1.example.com:0", "127.0.0.1.:0", "127.1:0", "[::ffff:10.0.0.1]:0", "localhost.example:0"])(
    "refuses to serve on %s without a token, saying why",
    async (listen) => {
      const config = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket: "o3ml-lookalike", profile: "o3" as const };
      const err = await failure(startService({ listen, createBucket: true }, { config }));
      expect(err?.code).toBe("FAILED_PRECONDITION");
      expect(err?.message).toContain(`refusing to serve on ${listen} without a token`);
      expect(err?.message).toContain("not a loopback address");
      expect(err?.message).toContain("O3ML_TOKEN");
    },
  );
});

describe("the contract's fields, end to end", () => {
  let e2e: E2eService;
  let standin: Standin;
  let objects: ServiceClient;
  let objectsRaw: Raw;
  let blobsRaw: Raw;

  beforeAll(async () => {
    e2e = await startE2eService({ s3: async () => (standin = await startStandin()) });
    objects = new ServiceClient(e2e.svc.address);
    objectsRaw = raw("ObjectService", e2e.svc.address);
    blobsRaw = raw("BlobService", e2e.svc.address);
  });
  afterAll(async () => {
    objects?.close();
    objectsRaw?.close();
    blobsRaw?.close();
    await e2e?.stop();
  });

  describe("PutHeader.expected_size", () => {
    it("is enforced when set without has_expected_size: 50 bytes declared as 100 are ABORTED and nothing is visible", async () => {
      const err = await rawPut(objectsRaw, { key: "contract/short", expectedSize: 100 }, [Buffer.alloc(50, 1)]);
      expect(codeOf(err)).toBe("ABORTED");
      expect(err?.details).toContain("50 of 100");
      expect(await failure(objects.stat("contract/short"))).toMatchObject({ code: "NOT_FOUND" });
    });

    it("is enforced when set without has_expected_size: 150 bytes declared as 100 are refused and nothing is visible", async () => {
      const err = await rawPut(objectsRaw, { key: "contract/long", expectedSize: 100 }, [Buffer.alloc(150, 1)]);
      expect(codeOf(err)).toBe("INVALID_ARGUMENT");
      expect(err?.details).toContain("declared size 100");
      expect(await failure(objects.stat("contract/long"))).toMatchObject({ code: "NOT_FOUND" });
    });

    it("declares an empty object only with has_expected_size, and 0 without it declares nothing", async () => {
      expect(await rawPut(objectsRaw, { key: "contract/exact", expectedSize: 100 }, [Buffer.alloc(60, 1), Buffer.alloc(40, 2)])).toBeUndefined();
      expect(Number((await objects.stat("contract/exact")).size)).toBe(100);
      expect(await rawPut(objectsRaw, { key: "contract/undeclared", expectedSize: 0 }, [Buffer.alloc(7, 1)])).toBeUndefined();
      expect(Number((await objects.stat("contract/undeclared")).size)).toBe(7);
      expect(codeOf(await rawPut(objectsRaw, { key: "contract/empty-declared", expectedSize: 0, hasExpectedSize: true }, [Buffer.alloc(5, 1)]))).toBe("INVALID_ARGUMENT");
      expect(await failure(objects.stat("contract/empty-declared"))).toMatchObject({ code: "NOT_FOUND" });
      expect(await rawPut(objectsRaw, { key: "contract/empty", expectedSize: 0, hasExpectedSize: true }, [])).toBeUndefined();
      expect(Number((await objects.stat("contract/empty")).size)).toBe(0);
    });
  });

  describe("content types", () => {
    it(`refuses one over ${CONTENT_TYPE_MAX_BYTES} bytes or with a control character, stores nothing, and List keeps working`, async () => {
      const cases: [string, string, RegExp][] = [
        ["3 MiB", "x".repeat(3 << 20), /content type is 3145728 bytes, at most 256 are allowed/],
        ["257 bytes", `application/${"x".repeat(257 - 12)}`, /content type is 257 bytes, at most 256 are allowed/],
        ["a C1 control", "text/plain\u009b31m", /content type contains U\+009B/],
        ["a newline", "text/plain\r\nX-Injected: 1", /content type contains U\+000D/],
      ];
      for (const [name, contentType, why] of cases) {
        const key = `contract/ctype-${name.replace(/\W/g, "-")}`;
        const err = await rawPut(objectsRaw, { key, contentType }, [Buffer.from("payload")]);
        expect(codeOf(err), name).toBe("INVALID_ARGUMENT");
        expect(err?.details, name).toMatch(why);
        expect(err?.details, name).toContain("nothing was stored");
        expect(await failure(objects.stat(key)), name).toMatchObject({ code: "NOT_FOUND" });
      }
      const limit = `application/${"y".repeat(CONTENT_TYPE_MAX_BYTES - 12)}`;
      expect(await rawPut(objectsRaw, { key: "contract/ctype-at-limit", contentType: limit }, [Buffer.from("payload")])).toBeUndefined();
      expect((await objects.stat("contract/ctype-at-limit")).contentType).toBe(limit);
      const page = await objects.list("contract/", 1000, "");
      expect(page.objects.map((o) => o.key)).toContain("contract/ctype-at-limit");
    });

    it("refuses an artifact media type over the same limit, naming it", async () => {
      const meta = new MetadataClient(e2e.svc.address);
      try {
        const base = { run: "contract-run", name: "model.onnx", cid: cidOf(Buffer.from("model")), bytes: 5 };
        const err = await failure(meta.recordArtifact({ ...base, mediaType: "m".repeat(100_000) }));
        expect(err?.code).toBe("INVALID_ARGUMENT");
        expect(err?.message).toMatch(/media_type: the content type is 100000 bytes, at most 256 are allowed.*nothing was stored/);
        await expect(meta.recordArtifact({ ...base, mediaType: "application/onnx" })).resolves.toMatchObject({ mediaType: "application/onnx" });
      } finally {
        meta.close();
      }
    });
  });

  describe("keys with control characters", () => {
    const refused = [...Array.from({ length: 0x20 }, (_, i) => i), ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i), 0x2028, 0x2029];

    it("refuses every C0, DEL and C1 control and the separators in Put, Stat, List prefix and Delete, and stores nothing", async () => {
      const shapes = (c: string) => [`contract/a${c}b`, `contract/${c}`, `contract/${c}/x`, `${c}contract/x`];
      for (const cp of refused) {
        const c = String.fromCodePoint(cp);
        const name = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
        for (const key of shapes(c)) {
          const data = (async function* () {
            yield Buffer.from("control");
          })();
          for (const [op, call] of [
            ["put", () => objects.put(key, data)],
            ["stat", () => objects.stat(key)],
            ["list", () => objects.list(key, 10, "")],
            ["delete", () => objects.delete(key)],
          ] as const) {
            const err = await failure((call as () => Promise<unknown>)());
            expect(err?.code, `${op} ${name} ${JSON.stringify(key)}`).toBe("INVALID_ARGUMENT");
            expect(err?.message, `${op} ${name}`).toContain(name);
            expect(err?.message.includes(c), `${op} ${name}: the message carries the character raw`).toBe(false);
          }
        }
      }
      // Nothing under any of those names reached the bucket.
      const refs: string[] = [];
      for await (const o of e2e.svc.store.list(`${ROOT}refs/objects/`)) refs.push(o.key);
      expect(refs.filter((k) => [...k].some((ch) => refused.includes(ch.codePointAt(0)!)))).toEqual([]);
    });

    it("refuses a key with a lone surrogate instead of storing it under another name", async () => {
      // A lone surrogate has no UTF-8 form: the client sends invalid UTF-8, which the gRPC layer
      // refuses before any handler runs (validateObjectKey refuses it too; see layout.test.ts).
      const err = await failure(objects.put("contract/a\ud800b", (async function* () {
        yield Buffer.from("surrogate");
      })()));
      expect(err).toBeDefined();
      expect(await failure(objects.stat("contract/a\ufffdb"))).toMatchObject({ code: "NOT_FOUND" });
      const keys = (await objects.list("contract/", 1000, "")).objects.map((o) => o.key);
      expect(keys.filter((k) => k.includes("\ufffd") || k.includes("surrogate"))).toEqual([]);
    });

    it("refuses C1 controls and separators in run names, checkpoint runs and metric names, and dataset names too", async () => {
      const meta = new MetadataClient(e2e.svc.address);
      const ckpts = new CheckpointClient(e2e.svc.address);
      const datasets = new DatasetClient(e2e.svc.address);
      const entry = [{ name: "skeleton", kind: "skeleton" as const, data: Buffer.from("x") }];
      try {
        for (const c of ["\u0085", "\u009b", "\u2028", "\u007f", "\u0001"]) {
          const name = `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
          expect((await failure(meta.registerRun({ name: `run${c}x` })))?.code, `run name ${name}`).toBe("INVALID_ARGUMENT");
          expect((await failure(ckpts.save({ key: "contract/ck.ckpt", run: `r${c}` }, entry)))?.code, `checkpoint run ${name}`).toBe("INVALID_ARGUMENT");
          expect((await failure(ckpts.save({ key: "contract/ck.ckpt", run: "r", metrics: { [`loss${c}`]: 1 } }, entry)))?.code, `metric ${name}`).toBe("INVALID_ARGUMENT");
          const ds = await failure(datasets.resolve(`mnist${c}`));
          expect(ds?.code, `dataset ${name}`).toBe("INVALID_ARGUMENT");
          expect(ds?.message.includes(c), `dataset ${name} echoed raw`).toBe(false);
        }
        expect(await failure(objects.stat("contract/ck.ckpt"))).toMatchObject({ code: "NOT_FOUND" });
        expect((await meta.listRuns()).filter((r) => r.name.startsWith("run"))).toEqual([]);
      } finally {
        meta.close();
        ckpts.close();
        datasets.close();
      }
    });

    it("still accepts keys with printable non-ASCII characters around the refused ranges", async () => {
      for (const key of ["contract/\u00a0nbsp", "contract/\u00ffy", "contract/ключ", "contract/\u2027dot", "contract/😀"]) {
        await objects.put(key, (async function* () {
          yield Buffer.from(key);
        })());
        expect((await objects.stat(key)).key).toBe(key);
      }
    });
  });

  describe("BlobService.Has", () => {
    const cids = (n: number) => Array.from({ length: n }, () => cidOf(randomBytes(16)));
    const has = (list: string[]) =>
      new Promise<{ err?: ServiceError; present?: boolean[] }>((resolve) => {
        (blobsRaw.has as unknown as (r: object, cb: (e: ServiceError | null, r?: { present: boolean[] }) => void) => Call)({ cids: list }, (e, r) =>
          resolve(e ? { err: e } : { present: r?.present ?? [] }),
        );
      });

    it(`refuses ${MAX_HAS_CIDS + 1} CIDs, naming the limit, and answers ${MAX_HAS_CIDS}`, async () => {
      expect(MAX_HAS_CIDS).toBe(1000);
      // A latency of 1 ms changes little but counts the blob HEADs that reach the store.
      standin.setFaults({ rules: [{ kind: "latency", operations: "HEAD", keyPrefix: `${ROOT}blobs/`, ms: 1 }] });
      try {
        const heads = () => standin.stats().faults.latency;
        const before = heads();
        const over = await has(cids(MAX_HAS_CIDS + 1));
        expect(codeOf(over.err)).toBe("INVALID_ARGUMENT");
        expect(over.err?.details).toContain(`1001 CIDs in one call, at most ${MAX_HAS_CIDS} are allowed`);
        // Refused before any lookup: no HEAD reached the store.
        expect(heads()).toBe(before);
        const at = await has(cids(MAX_HAS_CIDS));
        expect(at.err).toBeUndefined();
        expect(at.present).toHaveLength(MAX_HAS_CIDS);
        expect(heads() - before).toBe(MAX_HAS_CIDS);
      } finally {
        standin.setFaults({ rules: [] });
      }
    });

    it("the TypeScript client asks in batches the service accepts", async () => {
      const client = new DatasetClient(e2e.svc.address);
      try {
        const stored = Buffer.from("a stored blob for Has");
        await client.putBlob(cidOf(stored), stored.length, (async function* () {
          yield stored;
        })());
        const list = [...cids(MAX_HAS_CIDS), cidOf(stored)];
        const present = await client.has(list);
        expect(present).toHaveLength(MAX_HAS_CIDS + 1);
        expect(present.at(-1)).toBe(true);
        expect(present.slice(0, -1).every((p) => p === false)).toBe(true);
      } finally {
        client.close();
      }
    });

    it("stops issuing HEADs once the caller cancels", async () => {
      // Every blob HEAD waits 100 ms at the store, so 1000 of them, 16 at a time, take over 6 s.
      standin.setFaults({ rules: [{ kind: "latency", operations: "HEAD", keyPrefix: `${ROOT}blobs/`, ms: 100 }] });
      try {
        const heads = () => standin.stats().faults.latency;
        const before = heads();
        const call = (blobsRaw.has as unknown as (r: object, cb: (e: ServiceError | null) => void) => Call)({ cids: cids(MAX_HAS_CIDS) }, () => {});
        call.on("error", () => {});
        while (heads() === before) await sleep(10);
        await sleep(300);
        call.cancel();
        // Wait until no more HEADs arrive (the ones in flight when the cancel landed finish).
        let last = heads();
        for (let i = 0; i < 40; i++) {
          await sleep(400);
          const now = heads();
          if (now === last) break;
          last = now;
        }
        const issued = heads() - before;
        if (process.env.O3ML_DEBUG_HAS) console.log(`HEADs issued before the cancel took effect: ${issued}`);
        // About 16 × (300 ms / 100 ms) before the cancel, plus those in flight; never the 1000 asked for.
        expect(issued).toBeGreaterThan(0);
        expect(issued).toBeLessThan(200);
        // And the service keeps answering.
        expect((await has(cids(3))).present).toEqual([false, false, false]);
      } finally {
        standin.setFaults({ rules: [] });
      }
    });
  });
});
