import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { arraySource } from "./array-source.js";

const python = fileURLToPath(new URL("../../../../.venv/bin/python", import.meta.url));

/** An .npz written by numpy: 12 rows of 3x2 float32 features and int64 labels 0..11 (rows hold their index). */
function npz(name: string, save: "savez" | "savez_compressed"): string {
  const path = join(mkdtempSync(join(tmpdir(), "o3ml-npz-")), name);
  execFileSync(python, ["-c", `import sys, numpy as np; x = np.repeat(np.arange(12, dtype=np.float32), 6).reshape(12, 3, 2); np.${save}(sys.argv[1], x=x, y=np.arange(12))`, path]);
  return path;
}

async function rows(path: string) {
  const out: { key: string; cls: string; npy: Buffer }[] = [];
  for await (const s of (await arraySource(path, { seed: 0 })).samples()) {
    const member = (ext: string) => Buffer.from(s.members.find((m) => m.ext === ext)!.bytes!);
    out.push({ key: s.key, cls: member("cls").toString(), npy: member("npy") });
  }
  return out;
}

describe("array source", () => {
  it.each(["savez", "savez_compressed"] as const)("reads an .npz written by np.%s: one sample per row, with its label", async (save) => {
    const samples = await rows(npz("a.npz", save));
    expect(samples.map((s) => s.cls)).toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
    expect(samples[7]!.key).toBe("0000000007");
    const row = samples[7]!.npy;
    expect(row.subarray(0, 6).toString("latin1")).toBe("\x93NUMPY");
    expect(row.toString("latin1", 10, 10 + row.readUInt16LE(8))).toMatch(/'descr': '<f4', 'fortran_order': False, 'shape': \(3, 2\)/);
    expect([...new Float32Array(row.buffer.slice(row.byteOffset + row.length - 24, row.byteOffset + row.length))]).toEqual([7, 7, 7, 7, 7, 7]);
  });

  it("refuses a file that is not a zip, saying what to do", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "o3ml-npz-")), "fake.npz");
    writeFileSync(path, "not a zip archive at all");
    await expect(arraySource(path, { seed: 0 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringMatching(/fake\.npz is not a readable \.npz \(zip\) file: .*central directory.*; save the arrays again with np\.savez/),
    });
  });

  it("refuses a truncated .npz and one whose compressed array is damaged", async () => {
    const cut = npz("cut.npz", "savez");
    writeFileSync(cut, readFileSync(cut).subarray(0, 300));
    await expect(arraySource(cut, { seed: 0 })).rejects.toThrow(/cut\.npz is not a readable \.npz \(zip\) file: .+; save the arrays again with np\.savez/);

    const damaged = npz("damaged.npz", "savez_compressed");
    const bytes = readFileSync(damaged);
    bytes.fill(0xff, 60, 90); // inside x.npy's deflate stream, the first entry
    writeFileSync(damaged, bytes);
    await expect(rows(damaged)).rejects.toThrow(/damaged\.npz: x\.npy cannot be read \(.+\); the file is damaged: save the arrays again with np\.savez/);
  });
});
