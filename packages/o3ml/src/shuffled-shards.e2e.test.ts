import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMoto, type S3Server } from "@o3ml/standin";
import { DatasetClient, type WireDatasetManifest } from "@o3ml/client";
import { startService, type RunningService } from "@o3ml/storage-service";
import { cleanEnv, o3ml as runCli } from "../../cli/src/cli.test-support.js";

/**
 * How `o3ml dataset push` spreads samples over shards (shard-order.ts,
 * shard-size.ts), end to end: the real command in its own process, gRPC on
 * loopback to a service started here, in front of a real S3 server.
 */
const KiB = 1024;
let s3: S3Server;
let svc: RunningService;
let client: DatasetClient;
let work: string;

async function o3ml(...args: string[]) {
  const r = await runCli(args, cleanEnv(join(work, "home"), { O3ML_SERVICE: svc.address }));
  return { ...r, json: args.includes("--json") && r.code === 0 ? JSON.parse(r.stdout) : undefined };
}

/** `push ... --json`, failing the test with the CLI's stderr if it fails. */
async function push(...args: string[]) {
  const r = await o3ml("dataset", "push", ...args, "--json");
  expect(r.code, r.stderr).toBe(0);
  return r.json as { cid: string; shards: number; shardsNew: number; shardsReused: number; shardsAlreadyStored: number; bytesUploaded: number; bytesTotal: number; shuffled: boolean; seed: number; warnings: string[] };
}

const manifestOf = async (spec: string): Promise<WireDatasetManifest> => (await client.resolve(spec)).manifest;
const classOf = (key: string) => key.split("/").slice(-2)[0]!;

/** `<class>/<i>.bin` folders, sorted by class as a downloaded dataset usually is: `perClass` files of `size` bytes each. */
function classSorted(dir: string, classes: string[], perClass: number, size: number) {
  for (const cls of classes) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) writeFileSync(join(dir, cls, `${String(i).padStart(4, "0")}.bin`), randomBytes(size));
  }
}

beforeAll(async () => {
  s3 = await startMoto();
  work = mkdtempSync(join(tmpdir(), "o3ml-shuffle-"));
  mkdirSync(join(work, "home"));
  svc = await startService(
    { listen: "127.0.0.1:0", createBucket: true },
    { config: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket: `o3ml-shuffle-${Date.now().toString(36)}`, profile: "o3" } },
  );
  client = new DatasetClient(svc.address);
});
afterAll(async () => {
  client?.close();
  await svc?.stop();
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("o3ml dataset push: shuffled shards", () => {
  const classes = ["class_a", "class_b", "class_c", "class_d"];
  let tree: string;
  beforeAll(() => {
    tree = join(work, "sorted");
    classSorted(tree, classes, 40, 3 * KiB); // 160 samples, about 8 shards of 64 KiB
  });

  it("mixes the classes of a class-sorted folder in every shard, records the seed, and --no-shuffle keeps folder order", async () => {
    const shuffled = await push(tree, "--name", "mix/shuffled", "--shard-size", "64KiB");
    expect(shuffled).toMatchObject({ shuffled: true, seed: 0 });
    const m = await manifestOf("mix/shuffled");
    expect(m).toMatchObject({ shuffled: true, shuffleSeed: 0 });
    expect(m.shards.length).toBeGreaterThanOrEqual(6);
    for (const s of m.shards) expect(new Set(s.samples.map((e) => classOf(e.key))).size).toBeGreaterThanOrEqual(3);
    // Within a shard, samples are not in key order either.
    const keys = m.shards[0]!.samples.map((e) => e.key);
    expect(keys).not.toEqual([...keys].sort());

    const inOrder = await push(tree, "--name", "mix/in-order", "--shard-size", "64KiB", "--no-shuffle");
    expect(inOrder.shuffled).toBe(false);
    const plain = await manifestOf("mix/in-order");
    expect(plain.shuffled).toBe(false);
    expect(plain.shards.filter((s) => new Set(s.samples.map((e) => classOf(e.key))).size === 1).length).toBeGreaterThan(plain.shards.length / 2);
    const show = await o3ml("dataset", "show", "mix/shuffled", "--json");
    expect(show.json).toMatchObject({ shuffled: true, shuffleSeed: 0 });
  });

  it("makes the same shards from the same seed and another assignment from another seed", async () => {
    await push(tree, "--name", "mix/seed0-again", "--shard-size", "64KiB", "--seed", "0");
    const first = await manifestOf("mix/shuffled");
    const again = await manifestOf("mix/seed0-again");
    expect(again.shards.map((s) => s.cid)).toEqual(first.shards.map((s) => s.cid));

    await push(tree, "--name", "mix/seed7", "--shard-size", "64KiB", "--seed", "7");
    const other = await manifestOf("mix/seed7");
    expect(other).toMatchObject({ shuffled: true, shuffleSeed: 7 });
    const cids = new Set(first.shards.map((s) => s.cid));
    expect(other.shards.filter((s) => cids.has(s.cid))).toEqual([]);
    const order = (m: WireDatasetManifest) => m.shards.flatMap((s) => s.samples.map((e) => e.key));
    expect(order(other)).not.toEqual(order(first));
    expect([...order(other)].sort()).toEqual([...order(first)].sort());
  });

  it("uploads only the shard holding a changed file, and repacks everything once when the parent was laid out otherwise", async () => {
    const dir = join(work, "editable");
    classSorted(dir, classes, 40, 3 * KiB);
    const v1 = await push(dir, "--name", "mix/edit", "--version", "v1", "--shard-size", "64KiB");
    const parent = await manifestOf("mix/edit@v1");

    writeFileSync(join(dir, "class_b", "0007.bin"), randomBytes(3 * KiB));
    const v2 = await push(dir, "--name", "mix/edit", "--version", "v2", "--shard-size", "64KiB");
    expect(v2.shards).toBe(v1.shards);
    expect(v2.shardsReused).toBe(v1.shards - 1);
    expect(v2.shardsNew - v2.shardsAlreadyStored).toBe(1);
    expect(v2.bytesUploaded).toBeLessThan(v2.bytesTotal / 4);
    const old = new Set(parent.shards.map((s) => s.cid));
    const added = (await manifestOf("mix/edit@v2")).shards.filter((s) => !old.has(s.cid));
    expect(added).toHaveLength(1);
    expect(added[0]!.samples.map((e) => e.key)).toContain("class_b/0007");

    // A parent in key order (as every version written before shuffling was) is not reused by a shuffled push, and its manifest still reads.
    await push(dir, "--name", "mix/upgrade", "--version", "v1", "--shard-size", "64KiB", "--no-shuffle");
    const upgraded = await push(dir, "--name", "mix/upgrade", "--version", "v2", "--shard-size", "64KiB");
    expect(upgraded).toMatchObject({ shardsReused: 0, shuffled: true });
    expect(upgraded.warnings).toContain("mix/upgrade@v1 has its samples in key order, so none of its shards fit this push's order and every sample was uploaded again; pass --no-shuffle to reuse them");
    const same = await push(dir, "--name", "mix/upgrade", "--version", "v3", "--shard-size", "64KiB");
    expect(same).toMatchObject({ shardsReused: upgraded.shards, shardsNew: 0, bytesUploaded: 0 });
  });

  it("picks a shard size giving a big split several shards, and warns about a split that fits in one", async () => {
    const dir = join(work, "splits");
    for (const cls of ["cat", "dog"]) {
      mkdirSync(join(dir, "train", cls), { recursive: true });
      mkdirSync(join(dir, "val", cls), { recursive: true });
      for (let i = 0; i < 100; i++) writeFileSync(join(dir, "train", cls, `${i}.bin`), randomBytes(48 * KiB)); // 9.4 MiB: 1.2 MiB shards
      for (let i = 0; i < 3; i++) writeFileSync(join(dir, "val", cls, `${i}.bin`), randomBytes(2 * KiB));
    }
    const r = await o3ml("dataset", "push", dir, "--name", "mix/splits");
    expect(r.code, r.stderr).toBe(0);
    const m = await manifestOf("mix/splits");
    expect(m.shards.filter((s) => s.split === "train").length).toBeGreaterThanOrEqual(8);
    expect(m.shards.filter((s) => s.split === "val")).toHaveLength(1);
    expect(r.stdout).toMatch(/warning: split val \(6 samples, .*\) fits in one shard of 1\.0 MiB: its samples are not shuffled across shards and only one data-loader worker or rank reads it at a time; pass a smaller --shard-size/);
    expect(r.stdout).not.toMatch(/split train/);
  });
});
