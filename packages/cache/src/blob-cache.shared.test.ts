import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { cidOf } from "@o3ml/integrity";
import { BlobCache } from "./index.js";

/**
 * Two processes sharing one cache directory. The other process runs the
 * built package (dist/) and obeys one command per line on stdin:
 *   acquire <cid> <file> [delayMs]  → "ok <path>"   (source: the file, after delayMs)
 *   release <cid>                   → "released"
 */
const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const CHILD = `
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
const { BlobCache } = await import(${JSON.stringify(dist)});
const [dir, max] = process.argv.slice(1);
const cache = await BlobCache.open({ dir, maxBytes: Number(max) });
const leases = new Map();
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, cid, file, delay] = line.split(" ");
  try {
    if (cmd === "acquire") {
      const lease = await cache.acquire(cid, async () => (await sleep(Number(delay ?? 0)), createReadStream(file)));
      leases.set(cid, lease);
      console.log("ok " + lease.path);
    } else if (cmd === "release") {
      await leases.get(cid).release();
      console.log("released");
    }
  } catch (err) {
    console.log("error " + err.code + " " + err.message);
  }
}
`;

const MiB = 1024 * 1024;
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

function startOther(dir: string, maxBytes: number) {
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, dir, String(maxBytes)]);
  children.push(child);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    pid: child.pid!,
    async send(cmd: string): Promise<string> {
      child.stdin.write(`${cmd}\n`);
      const r = await lines.next();
      if (r.done) throw new Error(`the other process exited: ${child.stderr.read()?.toString() ?? ""}`);
      return r.value;
    },
  };
}

function blobFile(dir: string, size: number) {
  const bytes = randomBytes(size);
  const cid = cidOf(bytes);
  const file = join(dir, `src-${cid}`);
  writeFileSync(file, bytes);
  return { bytes, cid, file, open: async () => (async function* () { yield bytes; })() };
}

describe("BlobCache shared by two processes", () => {
  it("does not evict an entry another process pins, and evicts it after that process releases it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "o3ml-cache-"));
    const srcDir = mkdtempSync(join(tmpdir(), "o3ml-src-"));
    const other = startOther(dir, 2 * MiB);
    const held = blobFile(srcDir, MiB);
    const reply = await other.send(`acquire ${held.cid} ${held.file}`);
    expect(reply).toBe(`ok ${join(dir, held.cid)}`);

    const here = await BlobCache.open({ dir, maxBytes: 2 * MiB });
    for (let i = 0; i < 4; i++) {
      const b = blobFile(srcDir, MiB);
      await (await here.acquire(b.cid, b.open)).release();
    }
    expect(readFileSync(join(dir, held.cid)).equals(held.bytes)).toBe(true);
    expect(await other.send(`release ${held.cid}`)).toBe("released");
    const more = blobFile(srcDir, MiB);
    await (await here.acquire(more.cid, more.open)).release();
    expect(existsSync(join(dir, held.cid))).toBe(false);
  });

  it("lets both processes fill the same CID at once and agree on one verified entry", async () => {
    const dir = mkdtempSync(join(tmpdir(), "o3ml-cache-"));
    const srcDir = mkdtempSync(join(tmpdir(), "o3ml-src-"));
    const other = startOther(dir, 100 * MiB);
    const b = blobFile(srcDir, 3 * MiB);
    const here = await BlobCache.open({ dir, maxBytes: 100 * MiB });
    const [theirs, mine] = await Promise.all([other.send(`acquire ${b.cid} ${b.file} 20`), here.acquire(b.cid, b.open)]);
    expect(theirs).toBe(`ok ${mine.path}`);
    expect(readFileSync(mine.path).equals(b.bytes)).toBe(true);
    const left = readdirSync(dir).filter((n) => !n.includes(".pin."));
    expect(left).toEqual([b.cid]);
    await mine.release();
  });

  it("ignores the pins of a process that died", async () => {
    const dir = mkdtempSync(join(tmpdir(), "o3ml-cache-"));
    const srcDir = mkdtempSync(join(tmpdir(), "o3ml-src-"));
    const other = startOther(dir, 2 * MiB);
    const held = blobFile(srcDir, MiB);
    await other.send(`acquire ${held.cid} ${held.file}`);
    expect(readdirSync(dir).some((n) => n.startsWith(`${held.cid}.pin.${other.pid}.`))).toBe(true);
    const child = children.pop()!;
    await new Promise((r) => (child.once("exit", r), child.kill("SIGKILL")));

    const here = await BlobCache.open({ dir, maxBytes: 2 * MiB });
    for (let i = 0; i < 2; i++) {
      const b = blobFile(srcDir, MiB);
      await (await here.acquire(b.cid, b.open)).release();
    }
    expect(existsSync(join(dir, held.cid))).toBe(false);
    expect(readdirSync(dir).some((n) => n.includes(".pin."))).toBe(false);
  });
});
