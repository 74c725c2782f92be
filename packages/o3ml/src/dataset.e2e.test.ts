import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cidOf } from "@o3ml/integrity";
import { startMoto, type S3Server } from "@o3ml/standin";
import { DatasetClient } from "@o3ml/client";
import { startService, type RunningService } from "@o3ml/storage-service";
import { blobKey } from "@o3ml/repository";

/**
 * `o3ml dataset …` end to end: the real command in its own process, talking
 * gRPC on loopback to a service started here, in front of a real S3 server.
 */
const run = promisify(execFile);
const root = fileURLToPath(new URL("../../..", import.meta.url));
const bin = join(root, "packages/o3ml/bin/o3ml.js");
const python = join(root, ".venv/bin/python");
const KiB = 1024;

let s3: S3Server;
let svc: RunningService;
let work: string;

async function o3ml(...args: string[]) {
  try {
    const r = await run(process.execPath, [bin, ...args], { env: { ...process.env, O3ML_SERVICE: svc.address }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr, json: args.includes("--json") ? JSON.parse(r.stdout) : undefined };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    const first = e.stdout.split("\n")[0];
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, json: args.includes("--json") && first ? JSON.parse(first) : undefined };
  }
}

/** A PNG signature and IHDR with the given size, then random bytes: enough for size sniffing. */
function pngish(width: number, height: number, bytes: number) {
  const head = Buffer.alloc(24);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(head);
  head.writeUInt32BE(13, 8);
  head.write("IHDR", 12, "ascii");
  head.writeUInt32BE(width, 16);
  head.writeUInt32BE(height, 20);
  return Buffer.concat([head, randomBytes(bytes - 24)]);
}

/** train/ and val/ folders of class folders of images, `perClass` files each, 2–8 KiB. */
function imageTree(dir: string, perClass: number, start = 0) {
  for (const split of ["train", "val"]) {
    for (const cls of ["ant", "bee", "cat"]) {
      mkdirSync(join(dir, split, cls), { recursive: true });
      const n = split === "train" ? perClass : Math.ceil(perClass / 4);
      for (let i = start; i < start + n; i++) {
        writeFileSync(join(dir, split, cls, `img.${String(i).padStart(4, "0")}.png`), pngish(i % 7 === 0 ? 48 : 32, 32, 2 * KiB + ((i * 997) % (6 * KiB))));
      }
    }
  }
}

beforeAll(async () => {
  s3 = await startMoto();
  process.env.O3ML_HOME = mkdtempSync(join(tmpdir(), "o3ml-home-"));
  work = mkdtempSync(join(tmpdir(), "o3ml-ds-"));
  const bucket = `o3ml-cli-ds-${Date.now().toString(36)}`;
  svc = await startService(
    { listen: "127.0.0.1:0", createBucket: true },
    { config: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket, profile: "o3" } },
  );
});
afterAll(async () => {
  await svc?.stop();
  await s3?.stop();
});

describe("o3ml dataset", () => {
  it("pushes an ImageFolder tree as WebDataset shards, then a 10 % larger version uploading about 10 % of the bytes", async () => {
    const tree = join(work, "images");
    imageTree(tree, 40);
    const v1 = await o3ml("dataset", "push", tree, "--name", "vision/bugs", "--version", "v1", "--shard-size", "64KiB", "--json");
    expect(v1.code, v1.stderr).toBe(0);
    expect(v1.json).toMatchObject({ name: "vision/bugs", version: "v1", sourceKind: "imagefolder", classes: ["ant", "bee", "cat"], samples: 150, splits: { train: 120, val: 30 }, shardsReused: 0 });
    expect(v1.json.shards).toBeGreaterThan(5);
    expect(v1.json.bytesUploaded).toBe(v1.json.bytesTotal);
    expect(Object.keys(v1.json.imageSizes).sort()).toEqual(["32x32", "48x32"]);
    expect(v1.json.warnings.join(" ")).toMatch(/2 sizes/);

    // The shards are plain tars, named by the CID of their bytes, grouped the WebDataset way.
    const out = join(work, "pulled-v1");
    const pulled = await o3ml("dataset", "pull", "vision/bugs@v1", out, "--json");
    expect(pulled.code, pulled.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(manifest.shards.length).toBe(v1.json.shards);
    for (const s of manifest.shards) {
      expect(cidOf(readFileSync(join(out, s.file)))).toBe(s.cid);
      const listed = (await run("tar", ["tf", join(out, s.file)])).stdout.trim().split("\n");
      expect(listed.length).toBe(2 * s.samples.length);
      expect(listed.every((n) => /^(train|val)\/(ant|bee|cat)\/img_\d{4}\.(cls|png)$/.test(n))).toBe(true);
    }
    const grouped = await run(python, ["-c", WEBDATASET_GROUPING, ...manifest.shards.map((s: { file: string }) => join(out, s.file))]);
    expect(JSON.parse(grouped.stdout)).toEqual({ samples: 150, fields: ["cls", "png"], classes: { "0": 50, "1": 50, "2": 50 } });

    const same = await o3ml("dataset", "push", tree, "--name", "vision/bugs", "--json");
    expect(same.json).toMatchObject({ bytesUploaded: 0, shardsNew: 0, shardsReused: v1.json.shards, parentCid: v1.json.cid });

    imageTree(tree, 4, 1000);
    const v3 = await o3ml("dataset", "push", tree, "--name", "vision/bugs", "--version", "v3", "--shard-size", "64KiB", "--json");
    expect(v3.code, v3.stderr).toBe(0);
    expect(v3.json.samples).toBe(165);
    expect(v3.json.parentCid).toBe(same.json.cid);
    expect(v3.json.shardsReused).toBe(v1.json.shards);
    const share = v3.json.bytesUploaded / v3.json.bytesTotal;
    expect(share).toBeGreaterThan(0.05);
    expect(share).toBeLessThan(0.16);

    const dup = await o3ml("dataset", "push", tree, "--name", "vision/bugs", "--version", "v3");
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/ALREADY_EXISTS: dataset vision\/bugs already has version v3/);
    const ls = await o3ml("dataset", "ls", "--json");
    expect(ls.json.find((d: { name: string }) => d.name === "vision/bugs")).toMatchObject({ latest: "v3" });
    const show = await o3ml("dataset", "show", "vision/bugs", "--json");
    expect(show.json).toMatchObject({ version: "v3", samples: 165, splits: { train: { samples: 132 }, val: { samples: 33 } } });
    const verified = await o3ml("dataset", "verify", "vision/bugs@v3", "--json");
    expect(verified.json).toMatchObject({ shardsOk: v3.json.shards, failures: [] });
  });

  it("pushes a CSV table and an .npz array, one sample per row", async () => {
    const csv = join(work, "table.csv");
    writeFileSync(csv, 'id,text,score\n1,"hello, world",0.5\n2,plain,7\n3,"with ""quotes""",-1\n');
    const t = await o3ml("dataset", "push", csv, "--name", "tables/t", "--json");
    expect(t.code, t.stderr).toBe(0);
    expect(t.json).toMatchObject({ sourceKind: "csv", samples: 3, columns: ["id", "text", "score"] });

    const npz = join(work, "arrays.npz");
    await run(python, ["-c", `import numpy as np; r=np.random.default_rng(1); np.savez(${JSON.stringify(npz)}, x=r.random((40, 3, 2), dtype=np.float32), y=r.integers(0, 5, 40))`]);
    const a = await o3ml("dataset", "push", npz, "--name", "arrays/a", "--split", "train=0.75,val=0.25", "--seed", "3", "--json");
    expect(a.code, a.stderr).toBe(0);
    expect(a.json).toMatchObject({ sourceKind: "npz", samples: 40, columns: ["x", "y"] });
    expect(a.json.splits.train + a.json.splits.val).toBe(40);

    for (const [spec, dir] of [["tables/t", "t-out"], ["arrays/a", "a-out"]] as const) {
      expect((await o3ml("dataset", "pull", spec, join(work, dir))).code).toBe(0);
    }
    const check = await run(python, ["-c", ROWS_CHECK, npz, join(work, "a-out"), join(work, "t-out")]);
    expect(JSON.parse(check.stdout)).toEqual({ rows: 40, match: true, first: { id: 1, text: "hello, world", score: 0.5 } });
  });

  it("fails verify, Get and Fetch with INTEGRITY naming the shard and its CID when a stored shard was altered", async () => {
    const dir = join(work, "victim");
    mkdirSync(dir);
    for (let i = 0; i < 6; i++) writeFileSync(join(dir, `f${i}.bin`), randomBytes(20 * KiB));
    const pushed = await o3ml("dataset", "push", dir, "--name", "victim", "--shard-size", "64KiB", "--json");
    expect(pushed.code, pushed.stderr).toBe(0);
    const client = new DatasetClient(svc.address);
    try {
      const { manifest } = await client.resolve("victim");
      const target = manifest.shards[1]!;
      const bytes = Buffer.from(await svc.store.get(blobKey(target.cid)));
      bytes[700]! ^= 0x01;
      await svc.store.put(blobKey(target.cid), bytes);

      const v = await o3ml("dataset", "verify", "victim", "--json");
      expect(v.code).toBe(5);
      expect(v.json).toMatchObject({ shards: manifest.shards.length, shardsOk: manifest.shards.length - 1 });
      expect(v.json.failures).toEqual([{ shard: "data-000001.tar", cid: target.cid, problem: expect.stringContaining(target.cid) }]);
      expect(v.stderr).toMatch(new RegExp(`INTEGRITY: .*data-000001\\.tar \\(cid ${target.cid}\\)`));

      await expect(client.fetch(target.cid)).rejects.toMatchObject({ code: "INTEGRITY", message: expect.stringContaining(target.cid) });
      await expect((async () => { for await (const _ of client.getBlob(target.cid)); })()).rejects.toMatchObject({ code: "INTEGRITY" });
      const p = await o3ml("dataset", "pull", "victim", join(work, "victim-out"));
      expect(p.code).toBe(5);
      expect(existsSync(join(work, "victim-out"))).toBe(false);

      // An intact shard is handed over as a verified cache file, pinned until released.
      const good = manifest.shards[0]!;
      const lease = await client.fetch(good.cid);
      expect(cidOf(readFileSync(lease.path))).toBe(good.cid);
      const pins = () => readdirSync(join(process.env.O3ML_HOME!, "cache", "blobs")).filter((n) => n.startsWith(`${good.cid}.pin.`));
      expect(pins()).toHaveLength(1);
      await client.release(lease.lease);
      expect(pins()).toHaveLength(0);
    } finally {
      client.close();
    }
  });

  it("refuses hostile inputs with clear errors, and a failed push leaves no version", async () => {
    const broken = join(work, "broken");
    mkdirSync(join(broken, "a"), { recursive: true });
    writeFileSync(join(broken, "a", "ok.txt"), "fine");
    symlinkSync(join(work, "does-not-exist"), join(broken, "a", "gone.txt"));
    const r1 = await o3ml("dataset", "push", broken, "--name", "hostile/broken");
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain(`cannot read ${join(broken, "a", "gone.txt")}`);

    const empty = join(work, "empty");
    mkdirSync(join(empty, "sub"), { recursive: true });
    writeFileSync(join(empty, ".DS_Store"), "x");
    const r2 = await o3ml("dataset", "push", empty, "--name", "hostile/empty");
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/has no files to push/);

    // A ragged row far into the table: push reads the whole input before it packs, so it fails there and uploads nothing.
    const ragged = join(work, "ragged.csv");
    const rows = Array.from({ length: 3000 }, (_, i) => `${i},${"x".repeat(40)}`);
    rows.splice(2500, 0, "2500,too,many");
    writeFileSync(ragged, `a,b\n${rows.join("\n")}\n`);
    const r3 = await o3ml("dataset", "push", ragged, "--name", "hostile/ragged", "--shard-size", "64KiB");
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain(`${ragged} line 2502: 3 field(s), but the header has 2 columns`);

    const r4 = await o3ml("dataset", "show", "vision/bugs@v9");
    expect(r4.code).toBe(3);
    expect(r4.stderr).toMatch(/dataset vision\/bugs has no version v9; its versions, newest first, are v3, /);
    const r5 = await o3ml("dataset", "verify", "hostile/ragged");
    expect(r5.code).toBe(3);
    expect(r5.stderr).toMatch(/no dataset hostile\/ragged; datasets in bucket .*vision\/bugs/);

    const pq = join(work, "t.parquet");
    writeFileSync(pq, "PAR1");
    const r6 = await o3ml("dataset", "push", pq, "--name", "hostile/pq");
    expect(r6.stderr).toMatch(/reading Parquet needs a Parquet reader, and none is installed/);
    const r7 = await o3ml("dataset", "push", broken, "--name", "bad@name");
    expect(r7.code).toBe(2);

    const names = ((await o3ml("dataset", "ls", "--json")).json as { name: string }[]).map((d) => d.name);
    expect(names.filter((n) => n.startsWith("hostile/"))).toEqual([]);
  });
});

/** Groups tar members as WebDataset does (key = path up to the first dot of the file name). */
const WEBDATASET_GROUPING = `
import json, re, sys, tarfile
samples, fields, classes = {}, set(), {}
for path in sys.argv[1:]:
    prev = None
    for m in tarfile.open(path):
        key, ext = re.match(r"^((?:.*/|)[^.]+)[.]([^/]*)$", m.name).groups()
        assert key == prev or key not in samples, "members of a sample must be adjacent"
        prev = key
        data = tarfile.open(path).extractfile(m.name).read()
        samples.setdefault(key, {})[ext] = data
        fields.add(ext)
for s in samples.values():
    c = s["cls"].decode()
    classes[c] = classes.get(c, 0) + 1
print(json.dumps({"samples": len(samples), "fields": sorted(fields), "classes": classes}))
`;

/** Rows of the pulled .npz version against the original, and the first CSV row. */
const ROWS_CHECK = `
import glob, io, json, re, sys, tarfile
import numpy as np
src = np.load(sys.argv[1]); rows = {}
for path in glob.glob(sys.argv[2] + "/*.tar"):
    for m in (t := tarfile.open(path)):
        key, ext = re.match(r"^((?:.*/|)[^.]+)[.]([^/]*)$", m.name).groups()
        rows.setdefault(key, {})[ext] = t.extractfile(m).read()
match = all(np.array_equal(np.load(io.BytesIO(r["npy"])), src["x"][int(k)]) and int(r["cls"]) == src["y"][int(k)] for k, r in rows.items())
t = tarfile.open(sys.argv[3] + "/data-000000.tar")
print(json.dumps({"rows": len(rows), "match": bool(match), "first": json.loads(t.extractfile("0000000000.json").read())}))
`;
