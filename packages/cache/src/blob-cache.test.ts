import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cidOf, parseCid } from "@o3ml/integrity";
import { BlobCache, EMPTY_BLOB_CID, cacheBytesFromEnv, parseByteSize } from "./index.js";

const MiB = 1024 * 1024;
const tempDir = () => mkdtempSync(join(tmpdir(), "o3ml-cache-"));

/** A source that counts how often it is opened and yields `bytes` in 64 KiB pieces. */
function sourceOf(bytes: Uint8Array) {
  const s = {
    opened: 0,
    open: async () => {
      s.opened++;
      return (async function* () {
        for (let off = 0; off < bytes.length; off += 65536) yield bytes.subarray(off, off + 65536);
      })();
    },
  };
  return s;
}

function blob(size: number) {
  const bytes = randomBytes(size);
  return { bytes, cid: cidOf(bytes), src: sourceOf(bytes) };
}

/** Gives entries distinct, increasing last-use times so LRU order is unambiguous. */
function age(dir: string, cid: string, secondsAgo: number) {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(join(dir, cid), t, t);
}

describe("BlobCache", () => {
  it("keeps bytes a caller hashed (put) as an entry later acquires use without fetching", async () => {
    const dir = tempDir();
    const cache = await BlobCache.open({ dir, maxBytes: 100 * MiB });
    const b = blob(300_000);
    await cache.put(b.cid, parseCid(b.cid).multihash.digest, b.bytes);
    const lease = await cache.acquire(b.cid, b.src.open);
    expect(b.src.opened).toBe(0);
    expect(readFileSync(lease.path)).toEqual(b.bytes);
    await lease.release();
    const other = blob(1000);
    await expect(cache.put(other.cid, parseCid(b.cid).multihash.digest, other.bytes)).rejects.toThrow(/not to the CID/);
    expect(existsSync(join(dir, other.cid))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it("makes its directory again when it was removed under it, and serves verified bytes", async () => {
    const dir = tempDir();
    const cache = await BlobCache.open({ dir, maxBytes: 100 * MiB });
    const b = blob(200_000);
    await (await cache.acquire(b.cid, b.src.open)).release();
    rmSync(dir, { recursive: true, force: true });
    const lease = await cache.acquire(b.cid, b.src.open);
    expect(readFileSync(lease.path)).toEqual(b.bytes);
    expect(b.src.opened).toBe(2);
    await lease.release();
    await cache.close();
  });

  it("serves acquires that run side by side when its directory was removed under them, and keeps no pin of theirs", async () => {
    const dir = tempDir();
    const cache = await BlobCache.open({ dir, maxBytes: 100 * MiB });
    const blobs = Array.from({ length: 8 }, () => blob(100_000));
    for (const b of blobs) await (await cache.acquire(b.cid, b.src.open)).release();
    rmSync(dir, { recursive: true, force: true });
    const leases = await Promise.all(blobs.map((b) => cache.acquire(b.cid, b.src.open)));
    leases.forEach((l, i) => expect(readFileSync(l.path).equals(blobs[i]!.bytes)).toBe(true));
    expect(readdirSync(dir).filter((n) => n.includes(".pin."))).toHaveLength(8);
    for (const l of leases) await l.release();
    expect(readdirSync(dir).filter((n) => n.includes(".pin."))).toEqual([]);
    await cache.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fetches on a miss, verifies, and serves later uses from disk", async () => {
    const cache = await BlobCache.open({ dir: tempDir(), maxBytes: 100 * MiB });
    const b = blob(300_000);
    const l1 = await cache.acquire(b.cid, b.src.open);
    expect(readFileSync(l1.path).equals(b.bytes)).toBe(true);
    expect(l1.size).toBe(b.bytes.length);
    const l2 = await cache.acquire(b.cid, b.src.open);
    expect(b.src.opened).toBe(1);
    await l1.release();
    await l2.release();
    await l2.release(); // idempotent
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 300_000, pinned: 0 });
  });

  it("shares one fetch between concurrent misses of a CID", async () => {
    const cache = await BlobCache.open({ dir: tempDir(), maxBytes: 100 * MiB });
    const b = blob(MiB);
    const leases = await Promise.all([1, 2, 3].map(() => cache.acquire(b.cid, b.src.open)));
    expect(b.src.opened).toBe(1);
    await Promise.all(leases.map((l) => l.release()));
  });

  it("refuses bytes that do not hash to the CID, caching nothing", async () => {
    const dir = tempDir();
    const cache = await BlobCache.open({ dir, maxBytes: 100 * MiB });
    const b = blob(200_000);
    const wrong = sourceOf(randomBytes(200_000));
    await expect(cache.acquire(b.cid, wrong.open, { what: "o3ml/v1/blobs/x in bucket b" })).rejects.toMatchObject({
      code: "INTEGRITY",
      message: expect.stringContaining(b.cid),
    });
    expect(readdirSync(dir)).toEqual([]);
    expect(cache.stats().pinned).toBe(0);
    await expect(cache.acquire("not-a-cid", b.src.open)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("evicts least recently used entries when the cap is below the total", async () => {
    const dir = tempDir();
    const cache = await BlobCache.open({ dir, maxBytes: 3 * MiB });
    const blobs = Array.from({ length: 5 }, () => blob(MiB));
    for (const [i, b] of blobs.entries()) {
      await (await cache.acquire(b.cid, b.src.open)).release();
      age(dir, b.cid, 100 - i);
    }
    // Touch the oldest surviving entry: it becomes the most recently used.
    const [, , c, d, e] = blobs;
    await (await cache.acquire(c!.cid, c!.src.open)).release();
    const f = blob(MiB);
    await (await cache.acquire(f.cid, f.src.open)).release();
    const left = readdirSync(dir).sort();
    expect(left).toEqual([c!.cid, e!.cid, f.cid].sort());
    expect(left).not.toContain(d!.cid);
    expect(cache.stats().bytes).toBeLessThanOrEqual(3 * MiB);
  });

  it("never evicts a pinned entry, and evicts it once released", async () => {
    const dir = tempDir();
    const cache = await BlobCache.open({ dir, maxBytes: 2 * MiB });
    const pinned = blob(MiB);
    const lease = await cache.acquire(pinned.cid, pinned.src.open);
    age(dir, pinned.cid, 1000);
    for (let i = 0; i < 4; i++) {
      const b = blob(MiB);
      await (await cache.acquire(b.cid, b.src.open)).release();
    }
    expect(existsSync(lease.path)).toBe(true);
    expect(readFileSync(lease.path).equals(pinned.bytes)).toBe(true);
    await lease.release();
    const next = blob(MiB);
    await (await cache.acquire(next.cid, next.src.open)).release();
    expect(existsSync(lease.path)).toBe(false);
  });

  it("keeps an entry larger than the cap while it is pinned", async () => {
    const dir = tempDir();
    const cache = await BlobCache.open({ dir, maxBytes: MiB });
    const big = blob(3 * MiB);
    const lease = await cache.acquire(big.cid, big.src.open);
    expect(statSync(lease.path).size).toBe(3 * MiB);
    await lease.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("rebuilds its table after a restart and cleans what a crash left", async () => {
    const dir = tempDir();
    const first = await BlobCache.open({ dir, maxBytes: 100 * MiB });
    const a = blob(100_000);
    const b = blob(100_000);
    await (await first.acquire(a.cid, a.src.open)).release();
    await (await first.acquire(b.cid, b.src.open)).release();
    await first.close();
    // A dead process's temp file and pin, an empty entry, and an entry altered on disk.
    const dead = 2 ** 22 + 12345;
    writeFileSync(join(dir, `.tmp.${dead}.abcd`), "partial");
    writeFileSync(join(dir, `${a.cid}.pin.${dead}.1`), "");
    const empty = blob(10);
    writeFileSync(join(dir, empty.cid), "");
    writeFileSync(join(dir, EMPTY_BLOB_CID), "");
    const altered = Buffer.from(b.bytes);
    altered[5]! ^= 1;
    writeFileSync(join(dir, b.cid), altered);

    const second = await BlobCache.open({ dir, maxBytes: 100 * MiB });
    expect(readdirSync(dir).sort()).toEqual([a.cid, b.cid, EMPTY_BLOB_CID].sort());
    expect(second.stats().entries).toBe(3);
    // An entry this instance did not write is re-hashed on first use: the altered one is fetched again.
    const la = await second.acquire(a.cid, a.src.open);
    const lb = await second.acquire(b.cid, b.src.open);
    expect(a.src.opened).toBe(1);
    expect(b.src.opened).toBe(2);
    expect(readFileSync(lb.path).equals(b.bytes)).toBe(true);
    await la.release();
    await lb.release();
  });

  it("parses cache sizes", () => {
    expect(parseByteSize("20GiB")).toBe(20 * 1024 ** 3);
    expect(parseByteSize("512MB")).toBe(512e6);
    expect(parseByteSize("1.5k")).toBe(1536);
    expect(parseByteSize("4096")).toBe(4096);
    expect(parseByteSize("lots")).toBeUndefined();
    expect(cacheBytesFromEnv({})).toBe(20 * 1024 ** 3);
    expect(cacheBytesFromEnv({ O3ML_CACHE_BYTES: "1MiB" })).toBe(MiB);
    expect(() => cacheBytesFromEnv({ O3ML_CACHE_BYTES: "big" })).toThrow(/O3ML_CACHE_BYTES/);
  });
});
