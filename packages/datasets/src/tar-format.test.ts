import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hashSegment, segmentChunks, segmentLength } from "./sample-segment.js";
import type { Sample } from "./sample.js";
import { TAR_END, TarListing } from "./tar-format.js";

const python = fileURLToPath(new URL("../../../.venv/bin/python", import.meta.url));

async function bytesOf(sample: Sample) {
  const parts: Buffer[] = [];
  for await (const c of segmentChunks(sample)) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

const split = `${"d".repeat(120)}/${"f".repeat(90)}`; // fits ustar as a directory prefix and a name
const flat = "n".repeat(300); // fits only a PAX header
const accented = "classes/chat/été_001";
const samples: Sample[] = [
  { key: "cat/img_001", split: "", members: [{ ext: "png", size: 700, bytes: randomBytes(700), origin: "a" }, { ext: "cls", size: 1, bytes: Buffer.from("2"), origin: "b" }] },
  { key: split, split: "", members: [{ ext: "bin", size: 0, bytes: new Uint8Array(0), origin: "c" }] },
  { key: flat, split: "", members: [{ ext: "txt", size: 5, bytes: Buffer.from("flat!"), origin: "d" }] },
  { key: accented, split: "", members: [{ ext: "json", size: 2, open: async function* () { yield Buffer.from("{}"); }, origin: "e" }] },
];

describe("tar shards", () => {
  it("writes members that tar and Python's tarfile read, with deterministic headers and PAX names where ustar has no room", async () => {
    const segments = await Promise.all(samples.map(bytesOf));
    const tar = Buffer.concat([...segments, TAR_END]);
    expect(tar.length % 512).toBe(0);
    // The estimate is exact for names that fit ustar; a PAX header adds blocks.
    expect(segments.map((s) => s.length)).toEqual([segmentLength(samples[0]!), segmentLength(samples[1]!), segmentLength(samples[2]!) + 1024, segmentLength(samples[3]!) + 1024]);
    const file = join(mkdtempSync(join(tmpdir(), "o3ml-tar-")), "s.tar");
    writeFileSync(file, tar);
    // Members of a sample are ordered by extension, whatever order the source gave.
    const names = ["cat/img_001.cls", "cat/img_001.png", `${split}.bin`, `${flat}.txt`, `${accented}.json`];
    expect(execFileSync("tar", ["tf", file], { encoding: "utf8" }).trim().split("\n")).toEqual(names);
    const read = execFileSync(python, [
      "-c",
      `import json, sys, tarfile
t = tarfile.open(sys.argv[1])
print(json.dumps([[m.name, m.mode, m.uid, m.gid, m.uname, m.gname, m.mtime, t.extractfile(m).read().hex()] for m in t]))`,
      file,
    ]);
    const members = samples.flatMap((s) => [...s.members].sort((a, b) => (a.ext < b.ext ? -1 : 1)).map((m) => (m.bytes ? Buffer.from(m.bytes).toString("hex") : "7b7d")));
    expect(JSON.parse(read.toString())).toEqual(names.map((n, i) => [n, 0o644, 0, 0, "", "", 0, members[i]]));
  });

  it("is deterministic, and hashSegment agrees with the bytes written", async () => {
    for (const s of samples) {
      const a = await bytesOf(s);
      expect(a.equals(await bytesOf(s))).toBe(true);
      const h = await hashSegment(s);
      expect(h.size).toBe(a.length);
      expect(Buffer.from(h.sha256).toString("hex")).toBe(createHash("sha256").update(a).digest("hex"));
    }
  });

  it("refuses a member whose file changed size while it was read", async () => {
    for (const [size, now] of [[10, "7 now"], [5, "more now"]] as const) {
      const s: Sample = { key: "k", split: "", members: [{ ext: "bin", size, open: async function* () { yield new Uint8Array(7); }, origin: "/data/k.bin" }] };
      await expect(bytesOf(s)).rejects.toMatchObject({ code: "ABORTED", message: `/data/k.bin changed while it was being read (${size} bytes when listed, ${now}); push again once the input is stable` });
    }
  });

  it("lists the members of an archive with the offsets of their headers, and says why bytes are not an archive", async () => {
    const segments = await Promise.all(samples.map(bytesOf));
    const tar = Buffer.concat([...segments, TAR_END]);
    const listing = new TarListing();
    for (let at = 0; at < tar.length; at += 700) await listing.write(tar.subarray(at, at + 700));
    expect(await listing.end()).toBeUndefined();
    const starts = segments.map((_, i) => segments.slice(0, i).reduce((n, s) => n + s.length, 0));
    expect(listing.members).toEqual([
      { name: "cat/img_001.cls", offset: starts[0] },
      { name: "cat/img_001.png", offset: starts[0]! + 1024 },
      { name: `${split}.bin`, offset: starts[1] },
      { name: `${flat}.txt`, offset: starts[2]! + 1024 }, // after its PAX header
      { name: `${accented}.json`, offset: starts[3]! + 1024 },
    ]);

    const damaged = Buffer.from(tar);
    damaged[starts[1]! + 10] = damaged[starts[1]! + 10]! ^ 0x01; // a byte of a header's name: its checksum no longer matches
    const second = new TarListing();
    await second.write(damaged);
    expect((await second.end())?.message).toMatch(/Invalid tar header/);
    expect(second.members.map((m) => m.name)).toEqual(["cat/img_001.cls", "cat/img_001.png"]);
  });
});
