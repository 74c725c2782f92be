import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DeleteObjectCommand, ListObjectVersionsCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlobStore, createS3Client, PROBE_PREFIX, type BlobStore, type BlobStoreOptions, type Capabilities, type O3Config, type ObjectVersion } from "@o3ml/o3-client";
import {
  chunked,
  closedPort,
  collect,
  enableVersioning,
  equal,
  expectCode,
  inParallel,
  pendingUploads,
  versionsOf,
} from "./conformance-support.js";

/** What the suite needs of a running server (@o3ml/standin's S3Server fits). */
export interface ConformanceServer {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): Promise<void>;
}

export interface ConformanceOptions {
  /** The server refuses wrong credentials (moto's server mode accepts any). Default true. */
  checksCredentials?: boolean;
  /**
   * The endpoint speaks S3, so the suite also looks behind the store with a
   * raw S3 client (versions, pending multipart uploads) and at the probe
   * cache. Default true; false for a file:// store, which has neither.
   */
  s3?: boolean;
  /** What the capability probe must find on this server. */
  expectCapabilities?: Partial<Capabilities>;
}

const MiB = 1024 * 1024;
const SLOW = 180_000;

/**
 * The one behavioural suite every BlobStore endpoint must pass: round trips
 * across the multipart boundaries, ranged reads, listing order and paging,
 * version-complete deletes, bucket checks and error mapping. Each run uses
 * fresh buckets, so it can share a server with anything else.
 */
export function describeBlobStoreConformance(name: string, startServer: () => Promise<ConformanceServer>, opts: ConformanceOptions = {}): void {
  describe(`BlobStore conformance: ${name}`, { timeout: SLOW }, () => {
    let server: ConformanceServer;
    let probeDir: string;
    let raw: S3Client;
    const s3 = opts.s3 !== false;
    let store: BlobStore;
    const stores: BlobStore[] = [];
    const run = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
    const bucketName = (role: string) => `o3ml-${role}-${run}`;

    const configFor = (bucket: string, patch: Partial<O3Config> = {}): O3Config => ({
      endpoint: server.endpoint,
      region: server.region,
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
      bucket,
      profile: "o3",
      ...patch,
    });
    const open = (bucket: string, patch: Partial<O3Config> = {}, extra: BlobStoreOptions = {}): BlobStore => {
      const s = createBlobStore(configFor(bucket, patch), { multipartThreshold: 8 * MiB, partSize: 5 * MiB, queueSize: 3, probeCacheDir: probeDir, ...extra });
      stores.push(s);
      return s;
    };

    beforeAll(async () => {
      server = await startServer();
      probeDir = mkdtempSync(join(tmpdir(), "o3ml-probes-"));
      if (s3) raw = createS3Client(configFor("unused"));
      store = open(bucketName("main"));
      await store.ensureBucket({ create: true });
    }, SLOW);

    afterAll(async () => {
      for (const s of stores) s.close();
      raw?.destroy();
      await server?.stop();
      if (probeDir) rmSync(probeDir, { recursive: true, force: true });
    }, SLOW);

    describe("round trips", () => {
      const sizes: Array<[string, number]> = [
        ["0 B", 0],
        ["1 B", 1],
        ["5 MiB - 1", 5 * MiB - 1],
        ["5 MiB + 1", 5 * MiB + 1],
        ["70 MiB (multipart)", 70 * MiB],
      ];
      for (const [label, size] of sizes) {
        it(`put/get ${label}`, async () => {
          const key = `round-trip/${size}`;
          const body = new Uint8Array(randomBytes(size));
          await store.put(key, body);
          expect(equal(await store.get(key), body)).toBe(true);
          expect((await store.head(key))?.size).toBe(size);
          expect(equal(await collect(await store.getStream(key)), body)).toBe(true);
        }, SLOW);
      }

      it("uploads above the threshold in parts, below it in one PUT", async () => {
        // Progress is reported once per part (ETags would tell too, but O3's are not S3's).
        const parts: number[] = [];
        await store.put("parts/above", new Uint8Array(21 * MiB), { onProgress: (n) => parts.push(n) });
        expect(parts.length).toBe(5);
        expect(parts.at(-1)).toBe(21 * MiB);
        const single: number[] = [];
        await store.put("parts/below", new Uint8Array(8 * MiB - 1), { onProgress: (n) => single.push(n) });
        expect(single).toEqual([8 * MiB - 1]);
      }, SLOW);

      it("putStream counts and stores bodies of unknown length", async () => {
        for (const size of [0, 1000, 23 * MiB + 17]) {
          const body = new Uint8Array(randomBytes(size));
          const key = `stream/${size}`;
          const { size: stored } = await store.putStream(key, chunked(body, 777_777));
          expect(stored).toBe(size);
          expect(equal(await store.get(key), body)).toBe(true);
        }
      }, SLOW);
    });

    describe("ranged reads", () => {
      const key = "range/object";
      const body = new Uint8Array(randomBytes(1 * MiB + 3));
      beforeAll(() => store.put(key, body), SLOW);

      it("returns exactly the bytes asked for, cut short at the end", async () => {
        const cases = [
          [0, 1],
          [0, body.length],
          [5, 100],
          [body.length - 1, 1],
          [body.length - 10, 100],
          [300_000, 500_000],
        ] as const;
        for (const [offset, length] of cases) {
          const want = body.subarray(offset, offset + length);
          expect(equal(await store.get(key, { range: { offset, length } }), want)).toBe(true);
          expect(equal(await collect(await store.getStream(key, { range: { offset, length } })), want)).toBe(true);
        }
      }, SLOW);

      it("treats an empty range as empty and a range past the end as INVALID_ARGUMENT", async () => {
        expect((await store.get(key, { range: { offset: 10, length: 0 } })).length).toBe(0);
        await expectCode(store.get(key, { range: { offset: body.length, length: 1 } }), "INVALID_ARGUMENT");
        await expectCode(store.get(key, { range: { offset: -1, length: 1 } }), "INVALID_ARGUMENT");
      });
    });

    describe("missing objects", () => {
      it("head → undefined, get → NOT_FOUND naming the key", async () => {
        expect(await store.head("missing/key-1")).toBeUndefined();
        const err = await expectCode(store.get("missing/key-1"), "NOT_FOUND");
        expect(err.message).toContain("missing/key-1");
        await expectCode(store.getStream("missing/key-2"), "NOT_FOUND");
        await expectCode(store.get("missing/key-3", { range: { offset: 0, length: 0 } }), "NOT_FOUND");
      });
    });

    describe("listing", () => {
      const many = Array.from({ length: 2500 }, (_, i) => `many/${String(i).padStart(5, "0")}`);
      beforeAll(async () => {
        await inParallel(many, 32, (k) => store.put(k, new Uint8Array([1])));
      }, SLOW);

      it("pages 2500 keys by 1000 in key order", async () => {
        const pages: number[] = [];
        const keys: string[] = [];
        let after: string | undefined;
        do {
          const page = await store.listPage("many/", { after, pageSize: 1000 });
          pages.push(page.objects.length);
          keys.push(...page.objects.map((o) => o.key));
          after = page.next;
        } while (after !== undefined);
        expect(pages).toEqual([1000, 1000, 500]);
        expect(keys).toEqual(many);
      }, SLOW);

      it("list() yields every key once, in order, with sizes", async () => {
        const seen: string[] = [];
        for await (const o of store.list("many/")) {
          expect(o.size).toBe(1);
          seen.push(o.key);
        }
        expect(seen).toEqual(many);
      }, SLOW);

      it("pages by 7, starting strictly after `after`", async () => {
        const keys = Array.from({ length: 23 }, (_, i) => `seven/${String.fromCharCode(97 + i)}`);
        await inParallel(keys, 8, (k) => store.put(k, new Uint8Array(3)));
        const first = await store.listPage("seven/", { pageSize: 7 });
        expect(first.objects.map((o) => o.key)).toEqual(keys.slice(0, 7));
        expect(first.next).toBe(keys[6]);
        const mid = await store.listPage("seven/", { pageSize: 7, after: keys[10] });
        expect(mid.objects.map((o) => o.key)).toEqual(keys.slice(11, 18));
        const last = await store.listPage("seven/", { pageSize: 7, after: keys[20] });
        expect(last.objects.map((o) => o.key)).toEqual(keys.slice(21));
        expect(last.next).toBeUndefined();
        expect((await store.listPage("seven/none-", {})).objects).toEqual([]);
      }, SLOW);

      it("orders keys by their UTF-8 bytes, as S3 does", async () => {
        const keys = ["utf8/a", "utf8/é", "utf8/\uFFFD", "utf8/\u{1D11E}"];
        await inParallel(keys, 4, (k) => store.put(k, new Uint8Array(1)));
        const listed: string[] = [];
        for await (const o of store.list("utf8/")) listed.push(o.key);
        expect(listed).toEqual(keys);
        const page = await store.listPage("utf8/", { after: "utf8/\uFFFD" });
        expect(page.objects.map((o) => o.key)).toEqual(["utf8/\u{1D11E}"]);
      });
    });

    describe("delete", () => {
      it("removes a key and ignores a missing one", async () => {
        await store.put("del/plain", new Uint8Array(10));
        await store.delete("del/plain");
        expect(await store.head("del/plain")).toBeUndefined();
        await store.delete("del/never-there");
      });

      it.runIf(s3)("removes every version and delete marker on a versioned bucket, and only of that key", async () => {
        const s = open(bucketName("versioned"));
        await s.ensureBucket({ create: true });
        await enableVersioning(raw, s.bucket);
        expect((await s.capabilities()).versioning).toBe(true);
        await versionedDeleteCheck(raw, s);
      }, SLOW);

      it.runIf(s3)("also when versioning was turned on after the probe", async (ctx) => {
        const s = open(bucketName("late-versioned"));
        await s.ensureBucket({ create: true });
        // Not a case on endpoints whose buckets are versioned from birth (Akave O3).
        if ((await s.capabilities()).versioning) ctx.skip();
        await enableVersioning(raw, s.bucket);
        await versionedDeleteCheck(raw, s);
      }, SLOW);
    });

    describe("versions", () => {
      it("lists every version and delete marker under a prefix with its LastModified, and deletes one version by id", async () => {
        const s = open(bucketName("versions"));
        await s.ensureBucket({ create: true });
        const versioned = (await s.capabilities()).versioning;
        const before = Date.now() - 5000;
        for (const k of ["ver/a", "ver/a", "ver/b"]) await s.put(k, new Uint8Array(randomBytes(100)));
        expect((await s.head("ver/a"))?.lastModified).toBeGreaterThan(before);
        for await (const o of s.list("ver/")) expect(o.lastModified).toBeGreaterThan(before);
        const listed = async () => {
          const out: ObjectVersion[] = [];
          for await (const v of s.listVersions("ver/")) out.push(v);
          return out;
        };
        const all = await listed();
        expect(all.map((v) => v.key)).toEqual(versioned ? ["ver/a", "ver/a", "ver/b"] : ["ver/a", "ver/b"]);
        for (const v of all) expect(v).toMatchObject({ deleteMarker: false, size: 100, lastModified: expect.any(Number) });
        if (versioned) {
          await s.delete("ver/b");
          await s.put("ver/b", new Uint8Array(100));
          // A plain DeleteObject on a versioned bucket stacks a marker: ask for it behind the store's back.
          if (s3) await raw.send(new DeleteObjectCommand({ Bucket: s.bucket, Key: "ver/b" }));
        }
        for (const v of await listed()) await s.deleteVersion(v.key, v.versionId);
        expect(await listed()).toEqual([]);
        expect(await s.head("ver/a")).toBeUndefined();
        // A version that is not there (any more) is no error.
        await s.deleteVersion("ver/a", all[0]!.versionId);
      }, SLOW);
    });

    describe("uploads that fail leave no multipart upload behind", () => {
      it("put() cancelled after its first part", async () => {
        const controller = new AbortController();
        const put = store.put("abort/put", new Uint8Array(40 * MiB), { signal: controller.signal, onProgress: () => controller.abort() });
        await expectCode(put, "CANCELLED");
        if (s3) expect(await pendingUploads(raw, store.bucket)).toEqual([]);
        expect(await store.head("abort/put")).toBeUndefined();
      }, SLOW);

      it("putStream() cancelled while its source is stalled", async () => {
        const controller = new AbortController();
        async function* stalled() {
          yield new Uint8Array(6 * MiB);
          yield new Uint8Array(6 * MiB);
          await new Promise(() => undefined);
        }
        const put = store.putStream("abort/stream", stalled(), { signal: controller.signal });
        put.catch(() => undefined);
        if (s3) {
          for (let i = 0; i < 200 && (await pendingUploads(raw, store.bucket)).length === 0; i++) await sleep(25);
          expect(await pendingUploads(raw, store.bucket)).toEqual(["abort/stream"]);
        } else {
          await sleep(200);
        }
        const started = Date.now();
        controller.abort();
        await expectCode(put, "CANCELLED");
        expect(Date.now() - started).toBeLessThan(5_000);
        if (s3) expect(await pendingUploads(raw, store.bucket)).toEqual([]);
        expect(await store.head("abort/stream")).toBeUndefined();
      }, SLOW);

      it("a multipart put refused at completion (ifAbsent on an existing key)", async () => {
        await store.put("abort/exists", new Uint8Array(1));
        await expectCode(store.put("abort/exists", new Uint8Array(11 * MiB), { ifAbsent: true }), "ALREADY_EXISTS");
        if (s3) expect(await pendingUploads(raw, store.bucket)).toEqual([]);
        expect((await store.head("abort/exists"))?.size).toBe(1);
      }, SLOW);
    });

    describe("conditional put", () => {
      it("ifAbsent writes a new key and refuses an existing one", async () => {
        await store.put("cond/once", new Uint8Array(5), { ifAbsent: true });
        await expectCode(store.put("cond/once", new Uint8Array(6), { ifAbsent: true }), "ALREADY_EXISTS");
        await expectCode(store.putStream("cond/once", chunked(new Uint8Array(7), 3), { ifAbsent: true }), "ALREADY_EXISTS");
        expect((await store.head("cond/once"))?.size).toBe(5);
      });
    });

    describe("buckets and failures", () => {
      it("rejects bucket names outside Akave's rules, naming the rule and the name", async () => {
        for (const bad of ["ab", "Upper-case", "-leading", "trailing-", "under_score", "has.dot", "x".repeat(64)]) {
          const err = await expectCode(open(bad).ensureBucket({ create: true }), "INVALID_ARGUMENT");
          expect(err.message).toContain(JSON.stringify(bad));
          expect(err.message).toContain("lowercase letters, digits and hyphens");
        }
      });

      it("reports a missing bucket as FAILED_PRECONDITION naming bucket and endpoint", async () => {
        const s = open(bucketName("absent"));
        const err = await expectCode(s.ensureBucket(), "FAILED_PRECONDITION");
        expect(err.message).toContain(s.bucket);
        expect(err.message).toContain(server.endpoint);
        expect(err.message).toContain("O3ML_BUCKET");
        await expectCode(s.put("k", new Uint8Array(1)), "FAILED_PRECONDITION");
      });

      it.runIf(opts.checksCredentials !== false)("refuses wrong credentials with PERMISSION_DENIED, never echoing the secret", async () => {
        const secret = `wrong-secret-${randomBytes(8).toString("hex")}`;
        const s = open(store.bucket, { secretAccessKey: secret });
        for (const attempt of [() => s.ensureBucket(), () => s.get("round-trip/1"), () => s.put("k", new Uint8Array(1))]) {
          const err = await expectCode(attempt(), "PERMISSION_DENIED");
          expect(JSON.stringify({ message: err.message, details: err.details })).not.toContain(secret);
          expect(err.message).toContain("O3ML_SECRET_ACCESS_KEY");
        }
      });

      it.runIf(s3)("fails fast with UNAVAILABLE naming an endpoint nothing listens on", async () => {
        const endpoint = `http://127.0.0.1:${await closedPort()}`;
        const s = open(bucketName("nowhere"), { endpoint });
        const started = Date.now();
        const err = await expectCode(s.ensureBucket(), "UNAVAILABLE");
        expect(Date.now() - started).toBeLessThan(3_000);
        expect(err.message).toContain(endpoint);
        expect(err.message).toContain("O3ML_ENDPOINT");
        await expectCode(s.get("k"), "UNAVAILABLE");
      });
    });

    describe("capability probe", () => {
      it("finds what the server supports, caches it on disk and leaves nothing behind", async () => {
        const caps = await store.capabilities();
        expect(caps).toMatchObject({ ...opts.expectCapabilities });
        expect(Number.isNaN(Date.parse(caps.probedAt))).toBe(false);
        expect(await store.capabilities()).toBe(caps);
        if (s3) expect(readdirSync(probeDir).filter((f) => f.endsWith(".json")).length).toBeGreaterThan(0);
        const left: string[] = [];
        for await (const o of store.list(PROBE_PREFIX)) left.push(o.key);
        expect(left).toEqual([]);
        if (s3) {
          const versions = await raw.send(new ListObjectVersionsCommand({ Bucket: store.bucket, Prefix: PROBE_PREFIX }));
          expect([...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]).toEqual([]);
        }
        console.info(`capabilities of ${name}: ${JSON.stringify(caps)}`);
      });
    });
  });
}

async function versionedDeleteCheck(raw: S3Client, s: BlobStore): Promise<void> {
  for (const k of ["v/key", "v/key", "v/key", "v/key/child", "v/keyx"]) await s.put(k, new Uint8Array(randomBytes(200)));
  expect((await versionsOf(raw, s.bucket, "v/key")).length).toBe(3);
  await s.delete("v/key");
  expect(await versionsOf(raw, s.bucket, "v/key")).toEqual([]);
  expect(await s.head("v/key")).toBeUndefined();
  expect((await versionsOf(raw, s.bucket, "v/keyx")).length).toBe(1);
  expect((await versionsOf(raw, s.bucket, "v/key/child")).length).toBe(1);
}
