import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cidOf } from "@o3ml/integrity";
import type { WireShard } from "@o3ml/client";
import { ShardCheck } from "./shard-check.js";
import { ShardFile, type BuiltShard } from "./shard-file.js";
import { folderSource } from "./sources/folder-source.js";

/** A folder of files, among them names that need a PAX header (non-ASCII, long) and a file of several MiB. */
function tree(): string {
  const root = mkdtempSync(join(tmpdir(), "o3ml-shard-"));
  const files: Record<string, Buffer> = {
    "notes/a.txt": Buffer.from("alpha"),
    "notes/a.json": Buffer.from("{}"),
    "notes/été.txt": Buffer.from("summer"),
    [`deep/${"n".repeat(200)}.bin`]: Buffer.alloc(513, 7),
    "big/blob.bin": Buffer.alloc(3 * 1024 * 1024 + 5, 1),
  };
  for (const [rel, bytes] of Object.entries(files)) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), bytes);
  }
  return root;
}

async function pack(root: string): Promise<BuiltShard> {
  const source = await folderSource(root, { kind: "files", seed: 0 });
  const shard = await ShardFile.create(mkdtempSync(join(tmpdir(), "o3ml-shard-out-")), "");
  for await (const s of source.samples()) await shard.add(s);
  return shard.finish();
}

async function check(shard: WireShard, bytes: Buffer): Promise<string[]> {
  const c = new ShardCheck(shard);
  for (let at = 0; at < bytes.length; at += 64 * 1024) await c.update(bytes.subarray(at, at + 64 * 1024));
  return c.finish(bytes.length);
}

describe("shard files", () => {
  it("packs the same folder twice into byte-identical shards with the same CID, which ShardCheck accepts", async () => {
    const root = tree();
    const [a, b] = [await pack(root), await pack(root)];
    const bytes = readFileSync(a.path);
    expect(bytes.equals(readFileSync(b.path))).toBe(true);
    expect([a.cid, a.size, a.samples]).toEqual([b.cid, b.size, b.samples]);
    expect(cidOf(bytes)).toBe(a.cid);
    expect(a.samples.map((s) => s.key)).toEqual(["big/blob", `deep/${"n".repeat(200)}`, "notes/a", "notes/été"]);
    expect(await check(a, bytes)).toEqual([]);
  });

  it("ShardCheck names a sample whose range does not hold its own members, and bytes that are not its CID's", async () => {
    const shard = await pack(tree());
    const bytes = readFileSync(shard.path);
    const samples = shard.samples.map((s) => ({ ...s }));
    samples[2]!.key = "notes/b";
    samples[3]!.offset += 512;
    expect(await check({ ...shard, samples }, bytes)).toEqual([
      "sample notes/été: its bytes do not match the digest the manifest records",
      `sample notes/b: the tar member at offset ${samples[2]!.offset} is "notes/a.json", not one of its members`,
      `sample notes/b: the tar member at offset ${samples[2]!.offset + 1024} is "notes/a.txt", not one of its members`,
    ]);

    const altered = Buffer.from(bytes);
    altered[samples[1]!.offset] = altered[samples[1]!.offset]! ^ 0x01;
    const problems = await check(shard, altered);
    expect(problems[0]).toBe(`its bytes hash to ${cidOf(altered)}, not to its CID ${shard.cid}`);
    expect(problems).toContain(`sample deep/${"n".repeat(200)}: its bytes do not match the digest the manifest records`);
    expect(problems.at(-1)).toMatch(/^it is not a readable tar archive \(Invalid tar header/);
  });
});
