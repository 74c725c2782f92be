import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cidOf } from "@o3ml/integrity";
import { createBlobStore, type BlobStore } from "@o3ml/o3-client";
import { RefStore } from "./ref-store.js";

/** A local-directory store whose GETs are counted. */
async function countingStore(): Promise<{ store: BlobStore; gets: () => number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "o3ml-refs-"));
  const real = createBlobStore({ endpoint: `file://${dir}`, bucket: "refs-test", region: "r", profile: "s3" });
  await real.ensureBucket({ create: true });
  let gets = 0;
  const store = Object.create(real) as BlobStore;
  store.get = (...args: Parameters<BlobStore["get"]>) => {
    gets++;
    return real.get(...args);
  };
  return { store, gets: () => gets, dir };
}

const CID_A = cidOf(new TextEncoder().encode("a"));
const CID_B = cidOf(new TextEncoder().encode("b"));

describe("RefStore", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("answers the newest ref of a name it has just written from memory, as a read of it would", async () => {
    const { store, gets, dir } = await countingStore();
    dirs.push(dir);
    const refs = new RefStore(store, "objects");
    const written = await refs.write("a/b", { manifestCid: CID_A, size: 42 });
    const latest = await refs.latest("a/b");
    expect(gets()).toBe(0);
    // Another store over the same bucket (another service) has to read it: both see the same record.
    const other = new RefStore(store, "objects");
    const read = await other.latest("a/b");
    expect(gets()).toBe(1);
    expect(latest).toEqual(read);
    expect(latest).toMatchObject({ id: written.id, name: "a/b", manifestCid: CID_A, size: 42, deleted: false });
  });

  it("reads the newest ref again when asked to go to the store, and sees a later write by another", async () => {
    const { store, gets, dir } = await countingStore();
    dirs.push(dir);
    const refs = new RefStore(store, "objects");
    await refs.write("k", { manifestCid: CID_B, size: 1 });
    await refs.latest("k", { fromStore: true });
    expect(gets()).toBe(1);
    const later = await new RefStore(store, "objects").write("k", { manifestCid: "", size: 0, deleted: true });
    expect(await refs.latest("k")).toMatchObject({ id: later.id, deleted: true });
  });
});
