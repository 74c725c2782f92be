import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatasetClient, type WireDatasetManifest, type WireDatasetPushProgress } from "@o3ml/client";
import { parsePushOptions, pushDataset, type PushProgress, type PushSummary } from "@o3ml/datasets";
import { o3ml } from "@o3ml/proto";
import { blobKey } from "@o3ml/repository";
import { startE2eService, type E2eService } from "../e2e-service.test-support.js";

/**
 * DatasetService.Push end to end: real gRPC on loopback, a real S3 server
 * (moto). The service pushes a folder of its host, named in options staged
 * in its staging directory, with the same code (packages/datasets) that
 * `o3ml dataset push` runs over a DatasetClient, and writes the same manifest.
 */
let e: E2eService;
let client: DatasetClient;
let staging: string;
let work: string;

const quiet: PushProgress = { start: () => ({ tick: () => undefined, stop: () => undefined }) };
const failure = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err as { code: string; message: string });

/** `<split>/c<k>/<i>.bin` files of random bytes, 5-7 KiB each. */
function imageFolder(dir: string, splits: Record<string, number>) {
  for (const [split, count] of Object.entries(splits)) {
    for (let i = 0; i < count; i++) {
      const folder = join(dir, split, `c${i % 3}`);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, `${String(i).padStart(5, "0")}.bin`), randomBytes(5000 + ((i * 97) % 2000)));
    }
  }
}

/** Writes `options` into a new staged file, as a client on the service's host does; returns its name. */
function stage(options: o3ml.v1.PushDatasetOptions.$Properties | Uint8Array): string {
  const name = `${process.pid}-${randomBytes(16).toString("hex")}.stage`;
  const bytes = options instanceof Uint8Array ? options : o3ml.v1.PushDatasetOptions.encode(options).finish();
  writeFileSync(join(staging, name), bytes, { mode: 0o600, flag: "wx" });
  return name;
}

/** What a version's manifest says of its content: everything but its name, version, parent and time. */
function content(m: WireDatasetManifest) {
  return { shards: m.shards, schema: m.schema, splitSeed: m.splitSeed, shuffled: m.shuffled, shuffleSeed: m.shuffleSeed, samples: m.samples, bytes: m.bytes };
}

beforeAll(async () => {
  e = await startE2eService();
  client = new DatasetClient(e.svc.address);
  // Made by the service on first use; a client on its host finds it through the handshake (AdminService.Colocate).
  staging = join(e.home, "staging");
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  work = mkdtempSync(join(tmpdir(), "o3ml-push-"));
});
afterAll(async () => {
  client?.close();
  await e?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("DatasetService.Push", () => {
  it("writes the manifest a push over DatasetClient writes, and pushing the unchanged folder again reuses every shard", async () => {
    const folder = join(work, "same");
    imageFolder(folder, { train: 30, val: 6 });
    const progress: WireDatasetPushProgress[] = [];
    const staged = stage({ path: folder, name: "push/by-service", shardSize: "64KiB" });
    const bySvc = (await client.push(staged, (p) => progress.push(p))) as unknown as PushSummary;
    expect(existsSync(join(staging, staged))).toBe(false);

    // The service uploaded the shards itself: they are in the bucket.
    expect(bySvc.shardsNew).toBeGreaterThan(1);
    expect(bySvc.bytesUploaded).toBe(bySvc.bytesTotal);
    const { manifest: viaService } = await client.resolve(`push/by-service@${bySvc.version}`);
    for (const s of viaService.shards) expect((await e.svc.store.head(blobKey(s.cid)))?.size).toBe(s.size);
    // Progress of each phase as pushDataset counts it, from 0 to at least the estimate it started with (the
    // input's size; what is read and packed adds the class labels and the tar headers).
    expect([...new Set(progress.map((p) => p.phase))]).toEqual(["reading", "pushing"]);
    for (const phase of ["reading", "pushing"]) {
      const seen = progress.filter((p) => p.phase === phase);
      expect(seen[0]!.doneBytes).toBe(0);
      expect(seen.at(-1)!.totalBytes).toBeGreaterThan(150_000);
      expect(seen.at(-1)!.doneBytes).toBeGreaterThanOrEqual(seen.at(-1)!.totalBytes);
    }

    const byClient = await pushDataset(client, parsePushOptions({ path: folder, name: "push/by-client", shardSize: "64KiB", shuffle: true }), quiet);
    const { manifest: viaClient } = await client.resolve(`push/by-client@${byClient.version}`);
    expect(content(viaService)).toEqual(content(viaClient));
    expect(viaService.shards.map((s) => s.split)).toContain("val");
    const same = ({ name: _n, version: _v, cid: _c, seconds: _s, mibPerSecond: _m, bytesUploaded: _b, shardsAlreadyStored: _a, ...rest }: PushSummary) => rest;
    expect(same(bySvc)).toEqual(same(byClient));
    // The service had stored every shard the client then built.
    expect(byClient.shardsAlreadyStored).toBe(byClient.shardsNew);

    const again = (await client.push(stage({ path: folder, name: "push/by-service", shardSize: "64KiB" }))) as unknown as PushSummary;
    expect(again.parentCid).toBe(bySvc.cid);
    expect(again.cid).not.toBe(bySvc.cid);
    expect([again.shardsReused, again.shardsNew, again.bytesUploaded]).toEqual([bySvc.shards, 0, 0]);
    expect((await client.resolve(`push/by-service@${again.version}`)).manifest.shards).toEqual(viaService.shards);
  });

  it("reads nothing by a name that is not a staged file's", async () => {
    const folder = join(work, "unstaged");
    imageFolder(folder, { train: 3 });
    // Valid options, but under a name no client stages by, and outside the directory.
    const options = o3ml.v1.PushDatasetOptions.encode({ path: folder, name: "push/unstaged" }).finish();
    writeFileSync(join(staging, "options.bin"), options);
    writeFileSync(join(work, "1-abcdef0123.stage"), options);
    for (const name of ["options.bin", "../../" + work.split("/").slice(-1)[0] + "/1-abcdef0123.stage", "", "1-xyz.stage"]) {
      const err = await failure(client.push(name));
      expect(err?.code, name).toBe("INVALID_ARGUMENT");
      expect(err?.message).toContain("is not the name of a staged file");
    }
    expect(existsSync(join(staging, "options.bin"))).toBe(true);
    expect(existsSync(join(work, "1-abcdef0123.stage"))).toBe(true);
    expect(await client.list("push/unstaged")).toEqual([]);
    // A staged name whose file is missing.
    const missing = await failure(client.push(`${process.pid}-0123456789abcdef.stage`));
    expect(missing?.code).toBe("FAILED_PRECONDITION");
    expect(missing?.message).toContain("does not exist; nothing was pushed");
    rmSync(join(staging, "options.bin"));
  });

  it("refuses a relative or empty path, a missing name, bad options and bytes that are no options, deleting the staged file each time", async () => {
    const folder = join(work, "refused");
    imageFolder(folder, { train: 3 });
    const cases: [o3ml.v1.PushDatasetOptions.$Properties | Uint8Array, string][] = [
      [{ path: "refused", name: "push/refused" }, "is not absolute"],
      [{ path: "", name: "push/refused" }, "is not absolute"],
      [{ path: folder, name: "" }, "no dataset name"],
      [{ path: folder, name: "push/refused", seed: "-1" }, "--seed -1: give a whole number"],
      [{ path: folder, name: "push/refused", kind: "jpeg" }, "--kind jpeg: give one of imagefolder"],
      [{ path: folder, name: "push/refused", shardSize: "lots" }, '--shard-size "lots"'],
      [{ path: folder, name: "push/refused", split: "train=0.5" }, "--split"],
      [Uint8Array.from([0x0a, 0xff, 0xff, 0xff]), "does not hold an encoded PushDatasetOptions"],
    ];
    for (const [options, said] of cases) {
      const staged = stage(options);
      const err = await failure(client.push(staged));
      expect(err?.code, said).toBe("INVALID_ARGUMENT");
      expect(err?.message).toContain(said);
      expect(existsSync(join(staging, staged))).toBe(false);
    }
    // A push that fails after reading its options (nothing to read at the path) leaves no staged file either.
    const staged = stage({ path: join(folder, "absent"), name: "push/refused" });
    expect((await failure(client.push(staged)))?.message).toContain("does not exist");
    expect(existsSync(join(staging, staged))).toBe(false);
    expect(await client.list("push/refused")).toEqual([]);
    expect(readdirSync(staging).filter((n) => n.endsWith(".stage"))).toEqual([]);
  });
});
