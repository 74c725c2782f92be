import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkTorchLoads, torchSaveEntries, torchUnavailable } from "./torch-fixture.test-support.js";
import { TorchZipWriter } from "./torch-zip-writer.js";

const missing = torchUnavailable();
if (missing && process.env.CI === "true") throw new Error(`torch is required in CI: ${missing}`);
if (missing) console.warn(`NOTICE: torch export tests skipped: ${missing}`);

async function* pieces(b: Buffer, size: number) {
  for (let off = 0; off < b.length; off += size) yield b.subarray(off, off + size);
}

/** Writes torch.save's records again with TorchZipWriter and lets torch itself read the result. */
describe.skipIf(!!missing)("TorchZipWriter", { timeout: 120_000 }, () => {
  it.each([false, true])("writes a file torch.load reads, storages 64-byte aligned (ZIP64 fields: %s)", async (forceZip64) => {
    const dir = mkdtempSync(join(tmpdir(), "o3ml-zip-"));
    const entries = torchSaveEntries(dir);
    const dest = join(dir, "exported.pt");
    const zip = await TorchZipWriter.create(dest, "exported", { forceZip64 });
    await zip.add("data.pkl", entries[0]!.data.length, entries[0]!.data);
    await zip.add("byteorder", 6, Buffer.from("little"));
    for (const e of entries.slice(1)) await zip.add(`data/${e.name}`, e.data.length, pieces(e.data, 1000));
    await zip.add("version", 2, Buffer.from("3\n"));
    await zip.finish();
    expect(checkTorchLoads(dir, dest)).toMatch(/^ok /);
  });

  it("leaves nothing behind when aborted, and refuses a record of the wrong length", async () => {
    const dir = mkdtempSync(join(tmpdir(), "o3ml-zip-"));
    const dest = join(dir, "never.pt");
    const zip = await TorchZipWriter.create(dest);
    await expect(zip.add("data/0", 10, Buffer.alloc(9))).rejects.toThrow("9 of its 10");
    await zip.abort();
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
