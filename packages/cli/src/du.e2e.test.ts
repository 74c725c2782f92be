import { randomBytes } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeleteObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { CheckpointClient, MetadataClient, type EntryToSave } from "@o3ml/client";
import { minioBinary, s3ClientFor, startMinio, startMoto, startO3Profile, type S3Server } from "@o3ml/standin";
import { o3ml, startServe, type Served } from "./cli.test-support.js";

/**
 * `o3ml du` against real stores: every figure it gives equals what an S3
 * client lists directly from the bucket, and what it calls reclaimable is
 * exactly what the following `o3ml gc --grace 0` deletes.
 */
const ROOT = "o3ml/v1/";
type Listing = Map<string, number>;
type Counts = { count: number; bytes: number };
interface Du {
  selection: string;
  logicalBytes: number;
  stored: { bytes: number; blobs: Counts; manifests: Counts; refs: Counts };
  shared: Counts;
  reclaimable: { bytes: number; blobs: Counts; manifests: Counts; refs: Counts };
  versions: { versioned: boolean; noncurrent?: Counts; deleteMarkers?: number };
  log?: Counts;
  totalBytes?: number;
}

const withO3Profile = async (): Promise<S3Server> => {
  const moto = await startMoto();
  try {
    const proxy = await startO3Profile(moto);
    return { ...proxy, stop: async () => (await proxy.stop(), await moto.stop()) };
  } catch (err) {
    await moto.stop();
    throw err;
  }
};
const servers: [string, () => Promise<S3Server>, boolean][] = [
  ["moto", () => startMoto(), false],
  ["the O3-profile layer over moto", withO3Profile, true],
];
const minio = minioBinary();
if (minio.path) servers.push(["minio", () => startMinio({ binary: minio.path }), false]);
else if (process.env.CI === "true") throw new Error(`MinIO is required in CI: ${minio.reason}`);

describe.each(servers)("o3ml du on %s", { timeout: 300_000 }, (_name, startS3, versioned) => {
  let s3: S3Server;
  let client: S3Client;
  let served: Served;
  let bucket: string;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "o3ml-du-"));
    s3 = await startS3();
    client = s3ClientFor(s3);
    bucket = `o3ml-du-${randomBytes(3).toString("hex")}`;
    served = await startServe(["--create-bucket", "--metrics", "127.0.0.1:0"], {
      O3ML_ENDPOINT: s3.endpoint,
      O3ML_REGION: s3.region,
      O3ML_ACCESS_KEY_ID: s3.accessKeyId,
      O3ML_SECRET_ACCESS_KEY: s3.secretAccessKey,
      O3ML_BUCKET: bucket,
    });
  }, 120_000);
  afterAll(async () => {
    await served?.stop();
    client?.destroy();
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Every current key under o3ml/v1/ with its size, as a plain S3 client lists it. */
  const list = async (): Promise<Listing> => {
    const out: Listing = new Map();
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: ROOT, ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.set(o.Key!, o.Size!);
      token = page.NextContinuationToken;
    } while (token);
    return out;
  };
  const added = (before: Listing, after: Listing) => new Map([...after].filter(([k]) => !before.has(k)));
  const removed = (before: Listing, after: Listing) => new Map([...before].filter(([k]) => !after.has(k)));
  const under = (l: Listing, part: string) => new Map([...l].filter(([k]) => k.startsWith(`${ROOT}${part}/`)));
  const sum = (...ls: Listing[]): Counts => ({ count: ls.reduce((n, l) => n + l.size, 0), bytes: ls.reduce((n, l) => n + [...l.values()].reduce((a, b) => a + b, 0), 0) });
  /** The blobs, manifests and refs of a listing: what o3ml du counts as stored. */
  const storedOf = (l: Listing) => ({ blobs: sum(under(l, "blobs")), manifests: sum(under(l, "manifests")), refs: sum(under(l, "refs")) });
  const merge = (...ls: Listing[]): Listing => new Map(ls.flatMap((l) => [...l]));
  /** The one key of `l` under `part` whose object has `size` bytes. */
  const bySize = (l: Listing, part: string, size: number): Listing => {
    const hits = [...under(l, part)].filter(([, s]) => s === size);
    expect(hits.length, `one ${part} key of ${size} bytes`).toBe(1);
    return new Map(hits);
  };
  const run = async (...args: string[]) => {
    const r = await o3ml(args, served.env());
    expect(r.code, `o3ml ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const du = async (...args: string[]) => JSON.parse(await run("du", "--json", ...args)) as Du;
  const file = (name: string, bytes: Uint8Array) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };
  const expectStored = (d: Du, l: Listing) => {
    const s = storedOf(l);
    expect({ blobs: d.stored.blobs, manifests: d.stored.manifests, refs: d.stored.refs }).toEqual(s);
    expect(d.stored.bytes).toBe(s.blobs.bytes + s.manifests.bytes + s.refs.bytes);
  };

  it("gives the sizes listed from the bucket, per run, per dataset and in total, and reclaims exactly what gc then deletes", async () => {
    // Objects: two names with equal content (one blob, dedup), one overwritten, one deleted.
    const same = randomBytes(300_001);
    await run("put", file("a.bin", same), "obj/a.bin");
    await run("put", file("b.bin", same), "obj/b.bin");
    await run("put", file("c1.bin", randomBytes(20_003)), "obj/c.bin");
    const cNow = randomBytes(20_005);
    await run("put", file("c2.bin", cNow), "obj/c.bin");
    await run("put", file("d.bin", randomBytes(7_007)), "obj/d.bin");
    await run("rm", "obj/d.bin");

    // Checkpoints: run du-a (registered, asked for by name) saves two that share a frozen
    // entry; run-b (never registered, asked for by id) saves one that shares it too.
    const meta = new MetadataClient(served.address);
    const ckpt = new CheckpointClient(served.address);
    // Larger than what is packed with other small entries (half the 1 MiB chunk size served here)
    // and smaller than a chunk: one blob of its own, shared by dedup.
    const frozen = randomBytes(600_011);
    const entries = (own: number): EntryToSave[] => [
      { name: "frozen", kind: "storage", dtype: "uint8", data: frozen },
      { name: "own", kind: "storage", dtype: "uint8", data: randomBytes(own) },
    ];
    let a1: Listing, a2: Listing, b: Listing;
    try {
      const runA = await meta.registerRun({ name: "du-a" });
      let before = await list();
      await ckpt.save({ key: "ckpt/du-a/step=1.ckpt", run: runA.id, step: 1 }, entries(40_013));
      a1 = added(before, (before = await list()));
      await ckpt.save({ key: "ckpt/du-a/step=2.ckpt", run: runA.id, step: 2 }, entries(40_017));
      a2 = added(before, (before = await list()));
      await ckpt.save({ key: "ckpt/run-b/step=1.ckpt", run: "run-b", step: 1 }, entries(50_021));
      b = added(before, await list());
    } finally {
      meta.close();
      ckpt.close();
    }
    const frozenBlob = bySize(a1, "blobs", frozen.length);
    let before = await list();
    await run("rm", "ckpt/du-a/step=1.ckpt");
    const a1Marker = under(added(before, await list()), "refs");

    // A dataset: v1, then v2, then v1 removed.
    const tree = (name: string, sizes: number[]) => {
      for (const [i, n] of sizes.entries()) {
        mkdirSync(join(dir, name, String(i % 2)), { recursive: true });
        writeFileSync(join(dir, name, String(i % 2), `${i}.bin`), randomBytes(n));
      }
      return join(dir, name);
    };
    before = await list();
    await run("dataset", "push", tree("v1", [1_031, 2_033, 3_037]), "--name", "du-ds", "--version", "v1");
    const d1 = added(before, (before = await list()));
    await run("dataset", "push", tree("v2", [4_049, 5_051, 6_053, 7_057]), "--name", "du-ds", "--version", "v2");
    const d2 = added(before, await list());
    await run("dataset", "rm", "du-ds@v1");

    const now = await list();
    const present = (l: Listing) => new Map([...l].filter(([k]) => now.has(k)));

    // Run du-a: its second checkpoint (the frozen blob is in a1's listing, not a2's: dedup) is stored;
    // what the first left (its own blob, manifest, ref and the deletion marker) is reclaimable.
    const duA = await du("--run", "du-a");
    const a2Stored = merge(under(a2, "blobs"), under(a2, "manifests"), under(a2, "refs"), frozenBlob);
    expectStored(duA, a2Stored);
    expect(duA.logicalBytes).toBe(frozen.length + 40_017);
    expect(duA.shared).toEqual(sum(frozenBlob));
    const a1Left = present(merge(under(a1, "blobs"), under(a1, "manifests"), under(a1, "refs"), a1Marker));
    a1Left.delete([...frozenBlob.keys()][0]!);
    expect(duA.reclaimable.blobs).toEqual(sum(under(a1Left, "blobs")));
    expect(duA.reclaimable.manifests).toEqual(sum(under(a1Left, "manifests")));
    expect(duA.reclaimable.refs).toEqual(sum(under(a1Left, "refs")));
    expect(duA.reclaimable.refs.count).toBe(2);

    const duB = await du("--run", "run-b");
    expectStored(duB, merge(under(b, "blobs"), under(b, "manifests"), under(b, "refs"), frozenBlob));
    expect(duB.shared).toEqual(sum(frozenBlob));
    expect(duB.logicalBytes).toBe(frozen.length + 50_021);
    expect(duB.reclaimable.bytes).toBe(0);

    // The dataset: v2 stored, v1's blobs and manifest reclaimable (its ref went with 'dataset rm').
    const d2Stored = merge(under(d2, "blobs"), under(d2, "manifests"), under(d2, "refs"));
    const duDs = await du("--dataset", "du-ds");
    expectStored(duDs, d2Stored);
    expect(duDs.logicalBytes).toBe(sum(under(d2, "blobs")).bytes);
    expect(duDs.shared).toEqual({ count: 0, bytes: 0 });
    expect(duDs.reclaimable.blobs).toEqual(sum(under(present(d1), "blobs")));
    expect(duDs.reclaimable.manifests).toEqual(sum(under(present(d1), "manifests")));
    // One version: the same stored figures, and nothing of v1 left to reclaim.
    const duV2 = await du("--dataset", "du-ds@v2");
    expect(duV2.selection).toBe("dataset du-ds@v2");
    expect([duV2.stored, duV2.logicalBytes, duV2.reclaimable.bytes]).toEqual([duDs.stored, duDs.logicalBytes, 0]);

    // The whole bucket, then gc with no grace period: what it deletes is what du called reclaimable,
    // and what is left under blobs/, manifests/ and refs/ is what du called stored.
    const whole = await du();
    expect(whole.totalBytes).toBe(sum(now).bytes);
    expect(whole.log).toEqual(sum(under(now, "log")));
    expect(whole.logicalBytes).toBe(2 * same.length + cNow.length + (frozen.length + 40_017) + (frozen.length + 50_021) + sum(under(d2, "blobs")).bytes);
    const aBlob = bySize(now, "blobs", same.length);
    expect(whole.shared).toEqual(sum(frozenBlob, aBlob));
    const gc = JSON.parse(await run("gc", "--grace", "0", "--json")) as { deleted: { blobs: Counts; manifests: Counts; refs: number } };
    const after = await list();
    const gone = removed(now, after);
    expect(whole.reclaimable.blobs).toEqual(gc.deleted.blobs);
    expect(whole.reclaimable.manifests).toEqual(gc.deleted.manifests);
    expect(whole.reclaimable.refs.count).toBe(gc.deleted.refs);
    expect(whole.reclaimable).toEqual({ ...storedOf(gone), bytes: sum(gone).bytes });
    expectStored(whole, merge(under(after, "blobs"), under(after, "manifests"), under(after, "refs")));
    expect(whole.reclaimable.blobs.count).toBeGreaterThan(0);

    // Behind the service's back, as another S3 tool would: a key overwritten (a versioned store keeps
    // the older version) and a key deleted without a version id (a versioned store adds a delete marker).
    for (const body of ["first", "second"]) await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${ROOT}elsewhere/twice`, Body: body }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${ROOT}elsewhere/gone`, Body: "x" }));
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${ROOT}elsewhere/gone` }));

    // After the collection nothing is reclaimable, and the selections keep what they had.
    const clean = await du();
    expect(clean.reclaimable.bytes).toBe(0);
    expect((await du("--run", "du-a")).stored).toEqual(duA.stored);

    // Versions: as the store lists them.
    if (versioned) {
      const noncurrent: Counts = { count: 0, bytes: 0 };
      let markers = 0;
      let keyMarker: string | undefined;
      let versionMarker: string | undefined;
      for (;;) {
        const page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: ROOT, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
        for (const v of page.Versions ?? []) if (!v.IsLatest) (noncurrent.count += 1), (noncurrent.bytes += v.Size!);
        markers += (page.DeleteMarkers ?? []).length;
        if (!page.IsTruncated) break;
        keyMarker = page.NextKeyMarker;
        versionMarker = page.NextVersionIdMarker;
      }
      expect(noncurrent.count).toBeGreaterThan(0);
      expect(markers).toBeGreaterThan(0);
      expect(clean.versions).toEqual({ versioned: true, noncurrent, deleteMarkers: markers });
    } else {
      expect(clean.versions).toEqual({ versioned: false });
    }

    // The table a person reads: each figure with its unit and what it means.
    const table = await run("du");
    for (const row of ["logical", "stored", "shared", "reclaimable", "log", "total"]) expect(table).toMatch(new RegExp(`^${row} +[\\d.]+ (B|KiB|MiB|GiB) +\\S`, "m"));
    expect(table).toMatch(versioned ? /^old versions +[\d.]+ (B|KiB) +\d+ older versions and \d+ delete markers/m : /^old versions +- +not versioned/m);

    // The gauges on the metrics endpoint hold the whole bucket's figures of the last computation.
    const metrics = await (await fetch(`http://127.0.0.1:${(served as Served & { metricsPort: number }).metricsPort}/metrics`)).text();
    const gauge = (name: string) => Number(metrics.match(new RegExp(`^${name} (\\d+)$`, "m"))?.[1]);
    expect(gauge("o3ml_store_stored_bytes")).toBe(clean.stored.bytes);
    expect(gauge("o3ml_store_logical_bytes")).toBe(clean.logicalBytes);
    expect(gauge("o3ml_store_shared_bytes")).toBe(clean.shared.bytes);
    expect(gauge("o3ml_store_reclaimable_bytes")).toBe(0);
    expect(gauge("o3ml_store_total_bytes")).toBe(clean.totalBytes);
  });

  it("says what was wrong when the selection names nothing, or two things", async () => {
    const bad = async (args: string[], message: RegExp) => {
      const r = await o3ml(["du", ...args], served.env());
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
    };
    await bad(["--run", "no-such-run"], /no run "no-such-run".*o3ml runs ls/);
    await bad(["--dataset", "no-such-ds"], /no dataset "no-such-ds".*o3ml dataset ls/);
    await bad(["--run", "x", "--dataset", "y"], /give --run or --dataset, not both/);
  });
});
