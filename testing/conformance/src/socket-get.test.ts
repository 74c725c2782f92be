import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlobStore, socketGetter, type BlobStore, type O3Config, type SocketGetter } from "@o3ml/o3-client";
import { minioBinary, startMinio, startMoto, startO3Profile, type O3ProfileServer, type S3Server } from "@o3ml/standin";

/**
 * o3-client's socket-get.ts: whole-object GETs read into a reused buffer, on
 * real S3 servers (MinIO; the O3-profile layer over moto, with its faults)
 * and on a loopback server whose answers are written byte by byte.
 */

const MiB = 1024 * 1024;

/** Every piece the sink saw, copied (the getter reuses their memory), and the result. */
async function collect(getter: SocketGetter, key: string): Promise<{ result: number | undefined; bytes: Buffer; pieces: number }> {
  const pieces: Buffer[] = [];
  const result = await getter.get(key, (piece) => void pieces.push(Buffer.from(piece)));
  return { result, bytes: Buffer.concat(pieces), pieces: pieces.length };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

function configOf(server: S3Server, bucket: string): O3Config {
  return { endpoint: server.endpoint, region: server.region, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, bucket, profile: "o3" };
}

/** Keys that need escaping in a path, and sizes around the getter's 256 KiB read buffer. */
const OBJECTS: [string, number][] = [
  ["plain/empty", 0],
  ["plain/one", 1],
  ["odd names/a b+c(1)!*'~é.bin", 3000],
  ["sizes/just-over-a-read", 256 * 1024 + 1],
  ["sizes/several", 5 * MiB + 17],
];

function describeOn(name: string, start: () => Promise<S3Server>, checksCredentials: boolean) {
  describe(`socketGetter on ${name}`, () => {
    let server: S3Server;
    let store: BlobStore;
    let getter: SocketGetter;
    const stored = new Map<string, Buffer>();
    const bucket = `socket-get-${Date.now().toString(36)}`;

    beforeAll(async () => {
      server = await start();
      const config = configOf(server, bucket);
      store = createBlobStore(config, { probeCacheDir: false });
      await store.ensureBucket({ create: true });
      for (const [key, size] of OBJECTS) {
        const bytes = randomBytes(size);
        await store.put(key, bytes);
        stored.set(key, bytes);
      }
      getter = socketGetter(config)!;
    });
    afterAll(async () => {
      getter?.close();
      store?.close();
      await server?.stop();
    });

    it("applies to a plain-HTTP endpoint with keys", () => {
      expect(getter).toBeDefined();
    });

    it("reads every object as the SDK does, byte for byte, over kept connections", async () => {
      for (let round = 0; round < 2; round++) {
        for (const [key, size] of OBJECTS) {
          const got = await collect(getter, key);
          expect(got.result, key).toBe(size);
          expect(got.bytes.equals(stored.get(key)!), key).toBe(true);
          expect(Buffer.from(await store.get(key)).equals(got.bytes), key).toBe(true);
        }
      }
    });

    it("reads several objects at once", async () => {
      const keys = [...stored.keys()];
      const got = await Promise.all([...keys, ...keys].map((k) => collect(getter, k)));
      got.forEach((g, i) => expect(g.bytes.equals(stored.get(keys[i % keys.length]!)!)).toBe(true));
    });

    it("answers undefined for a missing object, and for keys the store refuses (where it checks them), without calling the sink", async () => {
      expect(await collect(getter, "no/such/key")).toEqual({ result: undefined, bytes: Buffer.alloc(0), pieces: 0 });
      if (!checksCredentials) return; // moto takes any signature
      const wrong = socketGetter({ ...configOf(server, bucket), secretAccessKey: "not-the-secret" })!;
      try {
        expect(await collect(wrong, OBJECTS[1]![0])).toEqual({ result: undefined, bytes: Buffer.alloc(0), pieces: 0 });
      } finally {
        wrong.close();
      }
    });
  });
}

const minio = minioBinary();
if (minio.path) {
  const binary = minio.path;
  describeOn("MinIO", () => startMinio({ binary }), true);
} else {
  describe.skip("socketGetter on MinIO (not available here)", () => {
    it("needs MinIO", () => undefined);
  });
}

describeOn("the O3-profile layer over moto", async () => {
  const moto = await startMoto();
  const proxy = await startO3Profile(moto);
  return { ...proxy, stop: async () => (await proxy.stop(), await moto.stop()) };
}, false);

describe("socketGetter under the O3-profile layer's faults", () => {
  let moto: S3Server;
  let proxy: O3ProfileServer;
  let getter: SocketGetter;
  const bytes = randomBytes(2 * MiB);

  beforeAll(async () => {
    moto = await startMoto();
    proxy = await startO3Profile(moto);
    const config = configOf(proxy, `socket-faults-${Date.now().toString(36)}`);
    const store = createBlobStore(config, { probeCacheDir: false });
    await store.ensureBucket({ create: true });
    await store.put("blob", bytes);
    store.close();
    getter = socketGetter(config, { idleTimeoutMs: 500 })!;
  });
  afterAll(async () => {
    getter?.close();
    await proxy?.stop();
    await moto?.stop();
  });

  const once = (rule: Parameters<O3ProfileServer["setFaults"]>[0]["rules"][number]) => proxy.setFaults({ rules: [{ operations: "GET", limit: 1, ...rule }] });

  it("fails a body cut short, a reset and a stall, and then reads again", async () => {
    // A reset twice: a kept connection that fails before any answer is tried once more on a new one.
    for (const rule of [{ kind: "truncate", keepBytes: 100_000 }, { kind: "reset", limit: 2 }, { kind: "stall", ms: 5_000 }] as const) {
      once(rule);
      const err = await rejection(collect(getter, "blob"));
      expect(err.message, rule.kind).toMatch(/ended|closed|reset|no bytes|ECONNRESET|socket hang up/i);
      proxy.setFaults({ rules: [] });
      const again = await collect(getter, "blob");
      expect(again.bytes.equals(bytes), rule.kind).toBe(true);
    }
  });

  it("answers undefined for a server error, and hands damaged bytes over as they came (its caller checks the CID)", async () => {
    once({ kind: "internal-error" });
    expect((await collect(getter, "blob")).result).toBeUndefined();
    once({ kind: "bit-flip" });
    const flipped = await collect(getter, "blob");
    expect(flipped.result).toBe(bytes.length);
    expect(flipped.bytes.equals(bytes)).toBe(false);
    proxy.setFaults({ rules: [] });
  });
});

describe("socketGetter on answers written byte by byte", () => {
  let server: Server;
  let port: number;
  const connections: Socket[] = [];
  /** What the server answers to the next requests, one per request; each answer is a list of writes. */
  let answers: (Buffer | string)[][] = [];
  let closeAfterAnswer = false;

  beforeAll(async () => {
    server = createServer((socket) => {
      connections.push(socket);
      let seen = "";
      socket.on("data", (d) => {
        seen += d.toString("latin1");
        while (seen.includes("\r\n\r\n")) {
          seen = seen.slice(seen.indexOf("\r\n\r\n") + 4);
          const writes = answers.shift() ?? ["HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"];
          void (async () => {
            for (const w of writes) {
              socket.write(w);
              await new Promise((r) => setTimeout(r, 5));
            }
            if (closeAfterAnswer) socket.end();
          })();
        }
      });
      socket.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const c of connections) c.destroy();
    await new Promise((r) => server.close(r));
  });

  const getterHere = (opts = {}) =>
    socketGetter({ endpoint: `http://127.0.0.1:${port}`, region: "r", accessKeyId: "k", secretAccessKey: "s", bucket: "b", profile: "o3" }, opts)!;
  const ok = (body: Buffer, extra = "") => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n`;

  it("takes a head split across writes, with the body's start in the same write as its end", async () => {
    const g = getterHere();
    const body = randomBytes(70_000);
    const head = ok(body, "ETag: \"x\"\r\n");
    answers = [[head.slice(0, 7), head.slice(7, 30), Buffer.concat([Buffer.from(head.slice(30)), body.subarray(0, 10)]), body.subarray(10)]];
    const got = await collect(g, "k");
    expect(got.result).toBe(body.length);
    expect(got.bytes.equals(body)).toBe(true);
    g.close();
  });

  it("keeps one connection for GETs one after another, and a new one after the server closes it", async () => {
    const g = getterHere();
    const before = connections.length;
    const body = randomBytes(1000);
    answers = [[ok(body), body], [ok(body), body], [ok(body), body]];
    for (let i = 0; i < 3; i++) expect((await collect(g, `k${i}`)).bytes.equals(body)).toBe(true);
    expect(connections.length - before).toBe(1);
    // The server ends the kept connection while it is idle: the next GET goes out on a new one.
    connections.at(-1)!.end();
    await new Promise((r) => setTimeout(r, 50));
    answers = [[ok(body), body]];
    expect((await collect(g, "k3")).bytes.equals(body)).toBe(true);
    expect(connections.length - before).toBe(2);
    g.close();
  });

  it("gives a connection up after an answer that says Connection: close", async () => {
    const g = getterHere();
    const before = connections.length;
    const body = randomBytes(10);
    answers = [[ok(body, "Connection: close\r\n"), body], [ok(body), body]];
    closeAfterAnswer = true;
    try {
      expect((await collect(g, "a")).bytes.equals(body)).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      expect((await collect(g, "b")).bytes.equals(body)).toBe(true);
    } finally {
      closeAfterAnswer = false;
    }
    expect(connections.length - before).toBe(2);
    g.close();
  });

  it("answers undefined for a chunked body, another status or no Content-Length, and fails a body past its length", async () => {
    const g = getterHere();
    answers = [
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"],
      ["HTTP/1.1 206 Partial Content\r\nContent-Length: 3\r\n\r\nabc"],
      ["HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc"],
    ];
    for (let i = 0; i < 3; i++) expect((await collect(g, `u${i}`)).pieces).toBe(0);
    answers = [["HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"]];
    expect((await rejection(collect(g, "long"))).message).toContain("past its Content-Length");
    g.close();
  });

  it("does not apply to https, file or AWS endpoints, endpoints with a path, or without keys", () => {
    const base: O3Config = { endpoint: "http://127.0.0.1:9000", region: "r", accessKeyId: "k", secretAccessKey: "s", bucket: "b", profile: "o3" };
    expect(socketGetter(base)).toBeDefined();
    for (const config of [
      { ...base, endpoint: "https://127.0.0.1:9000" },
      { ...base, endpoint: "file:///tmp/store" },
      { ...base, endpoint: undefined },
      { ...base, endpoint: "http://127.0.0.1:9000/s3" },
      { ...base, accessKeyId: undefined, secretAccessKey: undefined },
    ]) {
      expect(socketGetter(config), JSON.stringify(config)).toBeUndefined();
    }
  });
});
