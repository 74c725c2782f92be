import { setTimeout as sleep } from "node:timers/promises";
import { makeGenericClientConstructor, Metadata, credentials, type ServiceError } from "@grpc/grpc-js";
import { cidOf, encodeRef } from "@o3ml/integrity";
import { grpcService } from "@o3ml/proto";
import { freePort } from "@o3ml/standin";
import { ulid } from "ulidx";
import { CheckpointClient, DatasetClient, MetadataClient, ServiceClient } from "@o3ml/client";
import { manifestKey, refKey, ROOT } from "@o3ml/repository";
import { ServiceProcess, type Cluster } from "./cluster.js";
import { clearError, type CaseResult } from "./outcome.js";
import { Seeded } from "./seeded.js";

/**
 * Hostile input against the running service: fuzzed gRPC messages on every
 * method, bad keys, oversized metadata, huge declared lengths, streams closed
 * early, malformed manifests, refs and events planted in the bucket, bad S3
 * credentials and bad tokens. Each input is handled when it gets a clear
 * error (or, for fuzz that happens to decode to a valid request, an answer),
 * the service stays up, the targeted cases write nothing, and memory stays bounded.
 */
const SERVICES = ["ObjectService", "BlobService", "DatasetService", "CheckpointService", "MetadataService", "AdminService"];
const DEADLINE_MS = 15_000;
const MEMORY_BOUND = 1024 * 1024 * 1024;

type Raw = Record<string, (...a: unknown[]) => unknown> & { close(): void };

function rawClient(service: string, address: string): { raw: Raw; methods: { name: string; cs: boolean; ss: boolean }[] } {
  const def = grpcService(service) as unknown as Record<string, { path: string; requestStream: boolean; responseStream: boolean }>;
  const identity: Record<string, object> = {};
  const methods = [];
  for (const [name, m] of Object.entries(def)) {
    identity[name] = { ...m, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
    methods.push({ name, cs: m.requestStream, ss: m.responseStream });
  }
  const Ctor = makeGenericClientConstructor(identity as never, service);
  const raw = new Ctor(address, credentials.createInsecure(), { "grpc.max_send_message_length": 128 * 1024 * 1024 }) as unknown as Raw;
  return { raw, methods };
}

/** Sends `msgs` on any kind of method; resolves with the error, or undefined on success. */
function callRaw(raw: Raw, m: { name: string; cs: boolean; ss: boolean }, msgs: Buffer[], md: Metadata, cancelAfterMs?: number): Promise<ServiceError | undefined> {
  return new Promise((resolve) => {
    const opts = { deadline: Date.now() + DEADLINE_MS };
    const done = (err: ServiceError | null) => resolve(err ?? undefined);
    if (m.cs) {
      const call = raw[m.name]!(md, opts, (err: ServiceError | null) => done(err)) as { write(b: Buffer): void; end(): void; cancel(): void; on(e: string, f: () => void): void };
      call.on("error", () => {});
      for (const b of msgs) call.write(b);
      if (cancelAfterMs !== undefined) setTimeout(() => call.cancel(), cancelAfterMs);
      else call.end();
    } else if (m.ss) {
      const call = raw[m.name]!(msgs[0], md, opts) as NodeJS.EventEmitter & { cancel(): void };
      call.on("data", () => {});
      call.on("error", (e: ServiceError) => done(e));
      call.on("end", () => done(null));
      if (cancelAfterMs !== undefined) setTimeout(() => call.cancel(), cancelAfterMs);
    } else {
      raw[m.name]!(msgs[0], md, opts, (err: ServiceError | null) => done(err));
    }
  });
}

/** A varint, for hand-made protobuf frames. */
function varint(n: bigint): Buffer {
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) b |= 0x80;
    out.push(b);
  } while (n > 0n);
  return Buffer.from(out);
}

export interface HostileReport {
  cases: CaseResult[];
  peakRssMiB: number;
}

export async function runHostile(c: Cluster, opts: { seed: number; fuzzPerMethod: number }): Promise<HostileReport> {
  const rnd = new Seeded(opts.seed);
  const secrets = c.secrets();
  const cases: CaseResult[] = [];
  const md = new Metadata();
  md.set("authorization", `Bearer ${c.token}`);
  const objects = new ServiceClient(c.service.address, c.token);
  const alive = async () => {
    const e = await objects.stat("reliability/health-probe").then(() => undefined, (err: unknown) => err as { code?: string });
    return c.service.alive() && e?.code === "NOT_FOUND";
  };
  const record = async (group: string, name: string, outcome: { ok: boolean; detail: string }) => {
    const up = await alive();
    cases.push({ group, name, handled: outcome.ok && up, detail: up ? outcome.detail : `service down after this input; ${outcome.detail}` });
    if (!up) {
      // Keep measuring the rest: a crash is recorded once, then the service is brought back.
      await c.service.kill();
      await c.service.start();
    }
  };
  const expectError = (err: unknown, codes?: string[]) => {
    if (err === undefined) return { ok: false, detail: "accepted" };
    const e = clearError(err, secrets);
    const codeOk = !codes || codes.includes(e.code);
    return { ok: e.clear && codeOk, detail: `${e.code}: ${e.message}` };
  };
  const snapshot = async () => {
    const keys: string[] = [];
    for await (const o of c.direct.list(ROOT)) keys.push(o.key);
    return keys.sort();
  };

  // 1. Fuzz every method: random bytes, mutated valid frames, wrong wire types, huge declared lengths.
  const seedFrames: Record<string, Buffer> = {
    put: Buffer.from([0x0a, 0x06, 0x0a, 0x04, 0x61, 0x2f, 0x62, 0x63]),
    stat: Buffer.from([0x0a, 0x03, 0x61, 0x2f, 0x62]),
  };
  for (const service of SERVICES) {
    const { raw, methods } = rawClient(service, c.service.address);
    for (const m of methods) {
      const inputs: [string, Buffer][] = [];
      for (let i = 0; i < opts.fuzzPerMethod; i++) inputs.push([`random-${i}`, rnd.bytes(rnd.int(1, 4096))]);
      for (let i = 0; i < opts.fuzzPerMethod; i++) {
        const base = Buffer.from(seedFrames[m.name] ?? seedFrames.stat!);
        const mutated = Buffer.concat([base, rnd.bytes(rnd.int(0, 16))]);
        for (let k = 0; k < 3; k++) {
          const at = rnd.int(0, mutated.length - 1);
          mutated[at] = mutated[at]! ^ (1 << rnd.int(0, 7));
        }
        inputs.push([`mutated-${i}`, mutated]);
      }
      // Field 1 as a varint, a fixed64 and a fixed32 where the schema has a string or a message.
      inputs.push(["wrong-type-varint", Buffer.concat([Buffer.from([0x08]), varint(150n)])]);
      inputs.push(["wrong-type-fixed64", Buffer.concat([Buffer.from([0x09]), Buffer.alloc(8, 0xff)])]);
      inputs.push(["wrong-type-fixed32", Buffer.concat([Buffer.from([0x0d]), Buffer.alloc(4, 0xff)])]);
      // A length-delimited field 1 declaring ~4 GiB and 2^62 bytes, followed by a few.
      inputs.push(["huge-declared-length", Buffer.concat([Buffer.from([0x0a]), varint(0xffffffffn), Buffer.from("abc")])]);
      inputs.push(["huge-declared-length-2^62", Buffer.concat([Buffer.from([0x12]), varint(1n << 62n), Buffer.from("abc")])]);
      for (const [name, buf] of inputs) {
        const err = await callRaw(raw, m, [buf], md);
        // A fuzzed frame may decode to a valid request; then an answer is the right outcome.
        await record("fuzz", `${service}.${m.name} ${name}`, err === undefined ? { ok: true, detail: "answered" } : expectError(err));
      }
      if (m.cs) {
        // Early close: a first frame, then the client cancels the stream.
        const err = await callRaw(raw, m, [seedFrames.put!], md, 50);
        await record("early-close", `${service}.${m.name} cancelled after the first frame`, err ? { ok: true, detail: `${err.code}` } : { ok: false, detail: "completed" });
      }
    }
    raw.close();
  }

  // 2. Targeted inputs that must write nothing.
  const before = await snapshot();
  const bytes = (n: number, fill = 7) =>
    (async function* () {
      yield Buffer.alloc(n, fill);
    })();
  const badKeys: Record<string, string> = {
    "parent traversal": "../etc/passwd",
    "inner traversal": "a/../../b",
    "absolute": "/etc/passwd",
    "empty segment": "a//b",
    "dot segment": "./a",
    "NUL inside": "a\u0000b",
    "NUL only": "\u0000",
    "newline": "a\nb",
    "DEL": "a\u007fb",
    "reserved @ segment": "a/@ref",
    "trailing slash": "dir/",
    "empty": "",
    "10 KB": "k".repeat(10_000),
  };
  for (const [name, key] of Object.entries(badKeys)) {
    await record("bad-key", `put ${name}`, expectError(await objects.put(key, bytes(16)).then(() => undefined, (e) => e), ["INVALID_ARGUMENT"]));
    await record("bad-key", `get ${name}`, expectError(await objects.get(key).then(() => undefined, (e) => e), ["INVALID_ARGUMENT"]));
    await record("bad-key", `delete ${name}`, expectError(await objects.delete(key).then(() => undefined, (e) => e), ["INVALID_ARGUMENT"]));
  }
  await record("bad-key", "list prefix ../", expectError(await objects.list("../", 10, "").then(() => undefined, (e) => e), ["INVALID_ARGUMENT"]));
  const ckpts = new CheckpointClient(c.service.address, c.token);
  const entry = [{ name: "skeleton", kind: "skeleton" as const, data: Buffer.from("x") }];
  for (const key of ["../ckpt", "runs/\u0000/a.ckpt", "/abs.ckpt"]) {
    await record("bad-key", `checkpoint save ${JSON.stringify(key)}`, expectError(await ckpts.save({ key, run: "r" }, entry).then(() => undefined, (e) => e), ["INVALID_ARGUMENT"]));
  }
  const datasets = new DatasetClient(c.service.address, c.token);
  for (const cid of ["../../etc/passwd", "bafk\u0000", "x".repeat(5000)]) {
    await record("bad-key", `blob fetch ${JSON.stringify(cid.slice(0, 20))}`, expectError(await datasets.fetch(cid).then(() => undefined, (e) => e)));
  }
  for (const name of ["../escape", "a\u0000b", "UPPER/..//x"]) {
    await record("bad-key", `dataset resolve ${JSON.stringify(name)}`, expectError(await datasets.resolve(name).then(() => undefined, (e) => e)));
  }

  // Oversized metadata and messages.
  const bigMd = new Metadata();
  bigMd.set("authorization", `Bearer ${c.token}`);
  bigMd.set("x-filler", "m".repeat(64 * 1024));
  {
    const { raw, methods } = rawClient("ObjectService", c.service.address);
    const stat = methods.find((m) => m.name === "stat")!;
    await record("oversized", "64 KiB of request metadata", expectError(await callRaw(raw, stat, [seedFrames.stat!], bigMd)));
    raw.close();
  }
  await record("oversized", "checkpoint with 100000 entries declared", expectError(
    await ckpts
      .saveStream(
        (async function* () {
          yield { header: { key: "reliability/many.ckpt", run: "r" } };
          yield { trailer: { entryCount: 100_000 } };
        })(),
      )
      .then(() => undefined, (e) => e),
  ));
  // Huge declared lengths in valid messages.
  await record("huge-length", "put declaring 2^50 bytes, sending 16", expectError(await objects.put("reliability/huge", bytes(16), { size: 2 ** 50 }).then(() => undefined, (e) => e)));
  await record("huge-length", "put declaring 1 MiB, sending 16", expectError(await objects.put("reliability/short", bytes(16), { size: 1 << 20 }).then(() => undefined, (e) => e)));
  await record("huge-length", "checkpoint entry declaring 2^40 bytes", expectError(
    await ckpts
      .saveStream(
        (async function* () {
          yield { header: { key: "reliability/huge.ckpt", run: "r" } };
          yield { entry: { name: "skeleton", kind: 1, nbytes: 2 ** 40 } };
          yield { data: Buffer.alloc(10) };
          yield { trailer: { entryCount: 1 } };
        })(),
      )
      .then(() => undefined, (e) => e),
  ));
  await record("huge-length", "blob put declaring 2^40 bytes", expectError(
    await datasets.putBlob(cidOf(Buffer.from("tiny")), 2 ** 40, bytes(4)).then(() => undefined, (e) => e),
  ));
  await record("huge-length", "blob put whose bytes do not match its CID", expectError(
    await datasets.putBlob(cidOf(Buffer.from("other")), 16, bytes(16)).then(() => undefined, (e) => e),
  ));
  await record("huge-length", "get at offset 2^52", expectError(
    await objects.get("reliability/none", 2 ** 52, 10).then(() => undefined, (e) => e),
  ));
  // Early close on the typed clients: a source that fails mid-stream cancels the call.
  await record("early-close", "put whose source fails after 3 MiB", expectError(
    await objects
      .put(
        "reliability/early",
        (async function* () {
          yield Buffer.alloc(3 << 20, 1);
          throw new Error("source failed");
        })(),
      )
      .then(() => undefined, (e) => e),
  ));
  // Nothing committed: no ref, manifest or event. Blobs a cancelled stream sent before it stopped
  // are orphans by design (blobs, then manifest, then ref); `o3ml gc` reclaims them.
  const committed = (keys: string[]) => keys.filter((k) => !k.startsWith(`${ROOT}blobs/`));
  const writtenSince = (was: string[], now: string[]) => committed(now).filter((k) => !was.includes(k));
  const after = await snapshot();
  const added = writtenSince(before, after);
  const orphans = after.filter((k) => !before.includes(k)).length - added.length;
  cases.push({ group: "nothing-written", name: "no ref, manifest or event from any refused input above", handled: added.length === 0, detail: added.length === 0 ? `nothing committed (${orphans} orphan blobs for gc)` : `committed: ${added.slice(0, 4).join(", ")}${added.length > 4 ? ` and ${added.length - 4} more` : ""}` });

  // Oversized labels: refused, and nothing committed by the attempt.
  const labelsMany = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`l${i}`, "v"]));
  const labelsHuge = { big: "v".repeat(3 * 1024 * 1024) };
  for (const [name, labels] of [["20000 labels", labelsMany], ["a 3 MiB label", labelsHuge]] as const) {
    const out = expectError(await ckpts.save({ key: "reliability/oversized.ckpt", run: "r", labels }, entry).then(() => undefined, (e) => e));
    if (writtenSince(after, await snapshot()).length) (out.ok = false), (out.detail += "; it committed a checkpoint");
    await record("oversized", `checkpoint header with ${name}`, out);
  }
  {
    // ObjectService Put with oversized labels, through the typed definition.
    const Typed = makeGenericClientConstructor(grpcService("ObjectService"), "ObjectService");
    const typed = new Typed(c.service.address, credentials.createInsecure(), { "grpc.max_send_message_length": 128 * 1024 * 1024 }) as unknown as Raw;
    for (const [name, labels] of [["20000 labels", labelsMany], ["a 3 MiB label", labelsHuge]] as const) {
      const err = await new Promise<ServiceError | undefined>((resolve) => {
        const call = typed.put!(md, { deadline: Date.now() + DEADLINE_MS }, (e: ServiceError | null) => resolve(e ?? undefined)) as { write(m: object): void; end(): void };
        call.write({ header: { key: "reliability/labelled", labels } });
        call.write({ data: Buffer.from("labelled") });
        call.end();
      });
      const now = await snapshot();
      const out = expectError(err);
      if (writtenSince(after, now).length) (out.ok = false), (out.detail += "; it committed an object");
      await record("oversized", `object put with ${name}`, out);
    }
    typed.close();
  }

  // 3. Malformed objects planted in the bucket (straight at MinIO), read through the service.
  const junk = rnd.bytes(512);
  const junkCid = cidOf(junk);
  const planted: string[] = [];
  const plant = async (key: string, body: Uint8Array) => {
    await c.direct.put(key, body);
    planted.push(key);
  };
  await plant(refKey("objects", "hostile/garbage-ref", ulid()), rnd.bytes(64));
  await plant(refKey("objects", "hostile/junk-manifest", ulid()), encodeRef({ kind: "objects", name: "hostile/junk-manifest", manifestCid: junkCid, createdUnixMs: Date.now() }));
  await plant(manifestKey(junkCid), junk);
  const missingCid = cidOf(Buffer.from("never stored"));
  await plant(refKey("objects", "hostile/missing-manifest", ulid()), encodeRef({ kind: "objects", name: "hostile/missing-manifest", manifestCid: missingCid, createdUnixMs: Date.now() }));
  const liarCid = cidOf(Buffer.from("what the name promises"));
  await plant(refKey("objects", "hostile/liar-manifest", ulid()), encodeRef({ kind: "objects", name: "hostile/liar-manifest", manifestCid: liarCid, createdUnixMs: Date.now() }));
  await plant(manifestKey(liarCid), Buffer.from("something else entirely"));
  await plant(refKey("datasets", "hostile-ds", ulid()), encodeRef({ kind: "datasets", name: "hostile-ds", manifestCid: junkCid, createdUnixMs: Date.now() }));
  await plant(`${ROOT}log/${ulid()}`, rnd.bytes(300));
  await plant(`${ROOT}log/${ulid()}`, Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]));
  for (const key of ["hostile/garbage-ref", "hostile/junk-manifest", "hostile/missing-manifest", "hostile/liar-manifest"]) {
    await record("planted", `stat ${key}`, expectError(await objects.stat(key).then(() => undefined, (e) => e)));
    await record("planted", `get ${key}`, expectError(await objects.get(key).then(async (r) => {
      for await (const _ of r.data) void _;
    }).then(() => undefined, (e) => e)));
    await record("planted", `checkpoint verify ${key}`, expectError(await ckpts.verify(key).then(() => undefined, (e) => e)));
  }
  // Listing around planted junk: either it is skipped or the error is clear; the service stays up.
  const listed = await objects.list("hostile/", 100, "").then(() => undefined, (e) => e);
  await record("planted", "list over planted refs", listed === undefined ? { ok: true, detail: "listed, junk skipped" } : expectError(listed));
  const ckList = await ckpts.list().then(() => undefined, (e) => e);
  await record("planted", "checkpoint list over planted refs", ckList === undefined ? { ok: true, detail: "listed" } : expectError(ckList));
  await record("planted", "dataset resolve of a junk manifest", expectError(await datasets.resolve("hostile-ds").then(() => undefined, (e) => e)));
  const dsList = await datasets.list().then(() => undefined, (e) => e);
  await record("planted", "dataset list over a junk manifest", dsList === undefined ? { ok: true, detail: "listed" } : expectError(dsList));
  const meta = new MetadataClient(c.service.address, c.token);
  const rebuilt = await meta.rebuildIndex().then(() => undefined, (e) => e);
  await record("planted", "index rebuild over junk events", rebuilt === undefined ? { ok: true, detail: "rebuilt, junk reported" } : expectError(rebuilt));
  for (const key of planted) await c.direct.delete(key);
  await meta.rebuildIndex().catch(() => undefined);
  meta.close();

  // 4. Tokens: missing, wrong, wrong length, other schemes, and one from a previous incarnation.
  const tokenCases: Record<string, string | undefined> = {
    missing: undefined,
    "wrong, same length": c.token.replace(/.$/, (ch) => (ch === "a" ? "b" : "a")),
    "wrong, longer": `${c.token}x`,
    "empty": "",
  };
  for (const [name, token] of Object.entries(tokenCases)) {
    const client = new ServiceClient(c.service.address, token);
    const err = await client.stat("reliability/health-probe").then(() => undefined, (e) => e);
    const out = expectError(err, ["UNAUTHENTICATED"]);
    if (token && String((err as Error)?.message).includes(token)) out.ok = false;
    await record("token", `${name} token`, out);
    client.close();
  }
  const basic = new Metadata();
  basic.set("authorization", `Basic ${Buffer.from(`user:${c.token}`).toString("base64")}`);
  {
    const { raw, methods } = rawClient("ObjectService", c.service.address);
    await record("token", "Basic scheme", expectError(await callRaw(raw, methods.find((m) => m.name === "stat")!, [seedFrames.stat!], basic)));
    raw.close();
  }

  // 5. A second service with the wrong S3 secret and a rotated token.
  const rotated = new ServiceProcess(await freePort(), c.serviceEnv({ O3ML_SECRET_ACCESS_KEY: "wrong-secret-for-reliability", O3ML_TOKEN: `${c.token}-rotated`, O3ML_HOME: `${c.home}-badcreds` }), c.logDir);
  await rotated.start();
  try {
    const old = new ServiceClient(rotated.address, c.token);
    await record("token", "a token the service no longer accepts (rotated)", expectError(await old.stat("a").then(() => undefined, (e) => e), ["UNAUTHENTICATED"]));
    old.close();
    const client = new ServiceClient(rotated.address, `${c.token}-rotated`);
    for (const [name, op] of [
      ["stat", () => client.stat("reliability/x")],
      ["put", () => client.put("reliability/x", bytes(32))],
      ["list", () => client.list("", 10, "")],
    ] as const) {
      const err = await (op as () => Promise<unknown>)().then(() => undefined, (e) => e);
      const out = expectError(err);
      if (!/credential|access|signature|denied|forbidden|key/i.test(out.detail)) out.ok = false;
      cases.push({ group: "bad-credentials", name: `${name} with a wrong S3 secret`, handled: out.ok && rotated.alive(), detail: out.detail });
    }
    client.close();
  } finally {
    await rotated.stop();
  }

  objects.close();
  ckpts.close();
  datasets.close();
  await sleep(300);
  c.service.sample();
  const peak = c.service.peakRss;
  cases.push({ group: "memory", name: `service peak RSS under ${MEMORY_BOUND / 1048576} MiB`, handled: peak > 0 && peak < MEMORY_BOUND, detail: `${(peak / 1048576).toFixed(0)} MiB` });
  return { cases, peakRssMiB: peak / 1048576 };
}
