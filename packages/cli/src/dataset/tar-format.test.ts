import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hashSegment, segmentChunks, segmentLength } from "./sample-segment.js";
import type { Sample } from "./sample.js";
import { headerName, TAR_END, tarHeader } from "./tar-format.js";
import { createHash } from "node:crypto";

async function bytesOf(sample: Sample) {
  const parts: Buffer[] = [];
  for await (const c of segmentChunks(sample)) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe("tar shards", () => {
  it("writes ustar members that tar lists, with long names split into prefix and name", async () => {
    const long = `${"d".repeat(120)}/${"f".repeat(90)}`;
    const samples: Sample[] = [
      { key: "cat/img_001", split: "", members: [{ ext: "png", size: 700, bytes: randomBytes(700), origin: "a" }, { ext: "cls", size: 1, bytes: Buffer.from("2"), origin: "b" }] },
      { key: long, split: "", members: [{ ext: "bin", size: 0, bytes: new Uint8Array(0), origin: "c" }] },
    ];
    const tar = Buffer.concat([...(await Promise.all(samples.map(bytesOf))), TAR_END]);
    expect(tar.length % 512).toBe(0);
    expect(segmentLength(samples[0]!)).toBe(512 + 1024 + 512 + 512);
    const dir = mkdtempSync(join(tmpdir(), "o3ml-tar-"));
    writeFileSync(join(dir, "s.tar"), tar);
    const listed = execFileSync("tar", ["tf", join(dir, "s.tar")], { encoding: "utf8" }).trim().split("\n");
    // Members of a sample are ordered by extension, whatever order the source gave.
    expect(listed).toEqual(["cat/img_001.cls", "cat/img_001.png", `${long}.bin`]);
    expect(headerName(tarHeader(`${long}.bin`, 5))).toBe(`${long}.bin`);
  });

  it("is deterministic, and hashSegment agrees with the bytes written", async () => {
    const s: Sample = { key: "k", split: "", members: [{ ext: "json", size: 3, bytes: Buffer.from("{ }"), origin: "x" }] };
    const a = await bytesOf(s);
    expect(a.equals(await bytesOf(s))).toBe(true);
    const h = await hashSegment(s);
    expect(h.size).toBe(a.length);
    expect(Buffer.from(h.sha256).toString("hex")).toBe(createHash("sha256").update(a).digest("hex"));
  });

  it("refuses a member whose file changed size while it was read", async () => {
    const s: Sample = { key: "k", split: "", members: [{ ext: "bin", size: 10, open: async function* () { yield new Uint8Array(7); }, origin: "/data/k.bin" }] };
    await expect(bytesOf(s)).rejects.toMatchObject({ code: "ABORTED", message: expect.stringContaining("/data/k.bin") });
  });

  it("refuses names too long for ustar", () => {
    expect(() => tarHeader("x".repeat(101), 1)).toThrow(/too long/);
  });
});
