import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, makeGenericClientConstructor, Metadata, type ServiceError } from "@grpc/grpc-js";
import { cidOf } from "@o3ml/integrity";
import { grpcService } from "@o3ml/proto";
import { freePort, startO3Profile } from "@o3ml/standin";
import { MAX_HAS_CIDS, ServiceClient } from "@o3ml/client";
import { CONTENT_TYPE_MAX_BYTES } from "@o3ml/storage-service";
import { refPrefix, ROOT } from "@o3ml/repository";
import { ServiceProcess, type Cluster } from "./cluster.js";
import { clearError, type CaseResult } from "./outcome.js";

/**
 * Contract defects probed from outside, through real gRPC and the CLI:
 *
 * - address parsing: `o3ml serve` without a token on an address that only
 *   looks like loopback (a host name starting "127.", a non-canonical IPv4
 *   spelling, an IPv4-mapped non-loopback address) is refused with a clear
 *   error instead of serving;
 * - contract fields: PutHeader.expected_size without has_expected_size is
 *   enforced; BlobService.Has over its limit is refused before any store
 *   request, and a cancelled Has stops issuing HEADs;
 * - oversized metadata: a 3 MiB content type is refused (and List keeps
 *   working for everyone); keys with C1 controls are refused by every method.
 */
type Call = { write(m: object): void; end(): void; cancel(): void; on(e: string, f: (...a: unknown[]) => void): void };
type Raw = Record<string, (...a: unknown[]) => Call> & { close(): void };

const DEADLINE_MS = 30_000;
const REFUSED = "probes/contract/refused/";

function typedClient(service: string, address: string): Raw {
  const Ctor = makeGenericClientConstructor(grpcService(service), service);
  return new Ctor(address, credentials.createInsecure(), { "grpc.max_send_message_length": 64 << 20 }) as unknown as Raw;
}

const codeOf = (err: ServiceError | undefined) => err?.metadata?.get("o3ml-code")[0];

export async function runContractProbes(c: Cluster): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const secrets = c.secrets();
  const record = async (group: string, name: string, fn: () => Promise<string | undefined>) => {
    let problem: string | undefined;
    try {
      problem = await fn();
    } catch (err) {
      problem = `probe failed: ${(err as Error).message}`.slice(0, 500);
    }
    if (!c.service.alive()) {
      problem = `the service is down after this probe${problem ? `; ${problem}` : ""}`;
      await c.service.kill();
      await c.service.start();
    }
    results.push({ group, name, handled: problem === undefined, detail: problem ?? "as expected" });
  };
  const md = new Metadata();
  md.set("authorization", `Bearer ${c.token}`);
  const opts = () => ({ deadline: Date.now() + DEADLINE_MS });
  /** A Put through the generated message types, with the header exactly as given. */
  const rawPut = (client: Raw, header: object, data: Buffer[]) =>
    new Promise<ServiceError | undefined>((resolve) => {
      const call = client.put!(md, opts(), (err: ServiceError | null) => resolve(err ?? undefined));
      call.write({ header });
      for (const d of data) call.write({ data: d });
      call.end();
    });
  /** An expected refusal: a clear error with `code` whose message matches `says`; else what was wrong. */
  const refused = (err: unknown, code: string, says?: RegExp): string | undefined => {
    if (err === undefined) return "accepted";
    const e = clearError(err, secrets);
    const got = codeOf(err as ServiceError) ?? e.code;
    if (got !== code) return `${got} instead of ${code}: ${e.message}`;
    if (!e.clear) return `unclear error: ${e.message}`;
    if (says && !says.test(e.message)) return `the message does not say ${says}: ${e.message}`;
    return undefined;
  };
  const objects = new ServiceClient(c.service.address, c.token);
  // Every input that must be refused names a key under REFUSED: no ref may appear there.
  const before = new Set<string>();
  for await (const o of c.direct.list(`${ROOT}refs/objects/${REFUSED}`)) before.add(o.key);
  const invisible = async (key: string): Promise<string | undefined> => {
    const err = await objects.stat(key).then(() => undefined, (e: { code?: string }) => e);
    if (err === undefined) return `${key} is visible afterwards`;
    return err.code === "NOT_FOUND" ? undefined : `stat ${key} afterwards: ${err.code} instead of NOT_FOUND`;
  };

  // Address parsing: each address is refused before anything starts, so no token is ever needed.
  const lookalikes = ["127.evil.example", "127.0.0.1.example.com", "127.0.0.1.", "127.1", "0x7f.0.0.1", "[::ffff:10.0.0.1]", "localhost.example"];
  for (const host of lookalikes) {
    await record("address parsing", `serve on ${host} without a token is refused`, async () => {
      const listen = `${host}:${await freePort()}`;
      const env = c.serviceEnv({ O3ML_TOKEN: undefined, O3ML_HOME: `${c.home}-lookalike` });
      const started = Date.now();
      const r = await c.cli(["serve", "--listen", listen, "--json", "--create-bucket"], { env, timeoutMs: 30_000 });
      if (r.code === 0 || r.code === null) return `o3ml serve ${r.code === null ? "kept running (killed after 30 s)" : "exited 0"}; it must refuse to serve without a token`;
      if (Date.now() - started > 20_000) return `refused only after ${Date.now() - started} ms`;
      const line = r.stdout.split("\n").find((l) => l.startsWith('{"error"'));
      if (!line) return `no JSON error on stdout (exit ${r.code}): ${r.stderr.slice(0, 300)}`;
      return refused(JSON.parse(line).error, "FAILED_PRECONDITION", /without a token: .* is not a loopback address.*O3ML_TOKEN/);
    });
  }

  // Contract fields.
  const objectsRaw = typedClient("ObjectService", c.service.address);
  await record("contract fields", "expected_size 100 without has_expected_size, 50 bytes sent: ABORTED, nothing visible", async () => {
    const key = `${REFUSED}short-${randomBytes(4).toString("hex")}`;
    const err = await rawPut(objectsRaw, { key, expectedSize: 100 }, [Buffer.alloc(50, 1)]);
    return refused(err, "ABORTED", /50 of 100/) ?? (await invisible(key));
  });
  await record("contract fields", "expected_size 100 without has_expected_size, 150 bytes sent: refused, nothing visible", async () => {
    const key = `${REFUSED}long-${randomBytes(4).toString("hex")}`;
    const err = await rawPut(objectsRaw, { key, expectedSize: 100 }, [Buffer.alloc(150, 1)]);
    return refused(err, "INVALID_ARGUMENT", /declared size 100/) ?? (await invisible(key));
  });

  // Has is counted where the store sees it: a service of its own, on a fresh bucket, behind an
  // O3-profile layer of its own that delays every blob HEAD and counts it (the main profile also
  // sees the durability tracker's HEADs of other phases' checkpoints).
  const counter = await startO3Profile(c.minio.asS3Server(), { faults: { rules: [{ kind: "latency", operations: "HEAD", keyPrefix: `${ROOT}blobs/`, ms: 100 }] } });
  const side = new ServiceProcess(
    await freePort(),
    c.serviceEnv({ O3ML_ENDPOINT: counter.endpoint, O3ML_BUCKET: `${c.bucket}-has`, O3ML_HOME: `${c.home}-has` }),
    c.logDir,
  );
  try {
    await side.start();
    const blobs = typedClient("BlobService", side.address);
    const heads = () => counter.stats().faults.latency;
    const cids = (n: number) => Array.from({ length: n }, () => cidOf(randomBytes(16)));
    const has = (list: string[]) =>
      new Promise<{ err?: ServiceError; present?: boolean[] }>((resolve) => {
        blobs.has!({ cids: list }, md, opts(), (e: ServiceError | null, r?: { present: boolean[] }) => resolve(e ? { err: e } : { present: r?.present ?? [] }));
      });
    await record("contract fields", `Has with ${MAX_HAS_CIDS + 1} CIDs is refused, naming the limit, before any HEAD`, async () => {
      const before = heads();
      const r = await has(cids(MAX_HAS_CIDS + 1));
      const problem = refused(r.err, "INVALID_ARGUMENT", new RegExp(`at most ${MAX_HAS_CIDS}`));
      if (problem) return problem;
      const sent = heads() - before;
      return sent === 0 ? undefined : `${sent} blob HEAD(s) were sent for a refused call`;
    });
    await record("contract fields", `Has with ${MAX_HAS_CIDS} CIDs is answered`, async () => {
      const r = await has(cids(MAX_HAS_CIDS));
      if (r.err) return `refused: ${codeOf(r.err)}: ${r.err.details}`;
      return r.present?.length === MAX_HAS_CIDS ? undefined : `${r.present?.length} answers for ${MAX_HAS_CIDS} CIDs`;
    });
    await record("contract fields", `Has with ${MAX_HAS_CIDS} unknown CIDs cancelled after 300 ms stops issuing HEADs`, async () => {
      const before = heads();
      const call = blobs.has!({ cids: cids(MAX_HAS_CIDS) }, md, opts(), () => {});
      call.on("error", () => {});
      const waitStart = Date.now();
      while (heads() === before && Date.now() - waitStart < 10_000) await sleep(10);
      if (heads() === before) return "no HEAD reached the store within 10 s";
      await sleep(300);
      call.cancel();
      // Until no HEAD arrives for 400 ms: those in flight when the cancel landed still finish.
      let last = heads();
      for (let i = 0; i < 40; i++) {
        await sleep(400);
        if (heads() === last) break;
        last = heads();
      }
      const issued = heads() - before;
      // 16 at a time for about 300 ms at 100 ms each is about 50; the whole request would be 1000.
      return issued < 200 ? undefined : `${issued} of ${MAX_HAS_CIDS} HEADs were issued although the caller cancelled after about 300 ms`;
    });
    blobs.close();
  } finally {
    await side.stop();
    await counter.stop();
  }

  // Oversized metadata.
  await record("oversized metadata", "a 3 MiB content type is refused, nothing is stored, and List still works", async () => {
    const key = `${REFUSED}ctype-${randomBytes(4).toString("hex")}`;
    const err = await rawPut(objectsRaw, { key, contentType: "t".repeat(3 << 20) }, [Buffer.from("payload")]);
    const problem = refused(err, "INVALID_ARGUMENT", new RegExp(`content type is ${3 << 20} bytes, at most ${CONTENT_TYPE_MAX_BYTES} are allowed.*nothing was stored`));
    if (problem) return problem;
    const listed = await objects.list("probes/", 1000, "").then(() => undefined, (e: { code?: string; message?: string }) => e);
    return (await invisible(key)) ?? (listed ? `List failed afterwards: ${listed.code}: ${listed.message}` : undefined);
  });
  await record("oversized metadata", `a content type of ${CONTENT_TYPE_MAX_BYTES + 1} bytes is refused, one of ${CONTENT_TYPE_MAX_BYTES} stored`, async () => {
    const key = `probes/contract/ctype-${randomBytes(4).toString("hex")}`;
    const over = await rawPut(objectsRaw, { key, contentType: "a/" + "b".repeat(CONTENT_TYPE_MAX_BYTES - 1) }, [Buffer.from("payload")]);
    const problem = refused(over, "INVALID_ARGUMENT", /content type/) ?? (await invisible(key));
    if (problem) return problem;
    const limit = "a/" + "b".repeat(CONTENT_TYPE_MAX_BYTES - 2);
    const ok = await rawPut(objectsRaw, { key, contentType: limit }, [Buffer.from("payload")]);
    if (ok) return `the limit itself was refused: ${codeOf(ok)}: ${ok.details}`;
    const info = await objects.stat(key);
    await objects.delete(key);
    return info.contentType === limit ? undefined : "the content type read back differs";
  });
  for (let cp = 0x7f; cp <= 0x9f; cp++) {
    const ch = String.fromCodePoint(cp);
    const name = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
    await record("oversized metadata", `a key with ${name} is refused by Put, Stat, List and Delete`, async () => {
      const key = `${REFUSED}c1-${cp.toString(16)}${ch}x`;
      const data = (async function* () {
        yield Buffer.from("c1");
      })();
      for (const [op, call] of [
        ["put", () => objects.put(key, data)],
        ["stat", () => objects.stat(key)],
        ["list", () => objects.list(key, 10, "")],
        ["delete", () => objects.delete(key)],
      ] as const) {
        const err = await (call as () => Promise<unknown>)().then(() => undefined, (e: unknown) => e);
        const problem = refused(err, "INVALID_ARGUMENT", new RegExp(name.replace("+", "\\+")));
        if (problem) return `${op}: ${problem}`;
        if ((err as Error).message.includes(ch)) return `${op}: the error message carries ${name} raw`;
      }
      const refs: string[] = [];
      for await (const o of c.direct.list(refPrefix("objects", key))) refs.push(o.key);
      return refs.length ? `${refs.length} ref(s) were written under the refused key` : undefined;
    });
  }
  await record("oversized metadata", "no ref was written by any refused input of this class", async () => {
    const added: string[] = [];
    for await (const o of c.direct.list(`${ROOT}refs/objects/${REFUSED}`)) if (!before.has(o.key)) added.push(o.key);
    return added.length ? `new refs: ${added.slice(0, 4).join(", ")}` : undefined;
  });

  objectsRaw.close();
  objects.close();
  return results;
}
