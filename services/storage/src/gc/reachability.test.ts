import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { cidOf } from "@o3ml/integrity";
import { createBlobStore, type BlobStore } from "@o3ml/o3-client";
import { DATASET_REF_KIND, KnownBlobs, ManifestStore, RefStore } from "@o3ml/repository";
import { markReachable } from "./reachability.js";

const manifest = (label: string) => cidOf(new TextEncoder().encode(label));

describe("gc's mark phase on a bucket another collection is sweeping", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("reads the names whose refs vanish between its listing and its reads as a later listing would show them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "o3ml-reach-"));
    dirs.push(dir);
    const real = createBlobStore({ endpoint: `file://${dir}`, bucket: "reach-test", region: "r", profile: "s3" });
    await real.ensureBucket({ create: true });
    const objects = new RefStore(real, "objects");
    const datasets = new RefStore(real, DATASET_REF_KIND);
    // "a": a value, then a newer one; "c": a value, then its deletion; dataset "d": two versions.
    const aOld = await objects.write("a", { manifestCid: manifest("a1"), size: 1 });
    await objects.write("a", { manifestCid: manifest("a2"), size: 1 });
    const cValue = await objects.write("c", { manifestCid: manifest("c1"), size: 1 });
    const cTomb = await objects.write("c", { manifestCid: manifest("c1"), size: 0, deleted: true });
    const dV1 = await datasets.write("d/v1", { manifestCid: manifest("d1"), size: 1 });
    await datasets.write("d/v2", { manifestCid: manifest("d2"), size: 1 });
    const keyOf = (kind: string, r: { name: string; id: string }) => `o3ml/v1/refs/${kind}/${r.name}/@${r.id}`;
    // What another collection (and a `dataset rm`) removes right after this one has listed the refs.
    const removedMeanwhile = [keyOf("objects", aOld), keyOf("objects", cValue), keyOf("objects", cTomb), keyOf(DATASET_REF_KIND, dV1)];
    const racing = Object.create(real) as BlobStore;
    racing.list = async function* (prefix, ...rest) {
      const listed = [];
      for await (const o of real.list(prefix, ...rest)) listed.push(o);
      if (prefix.endsWith("/refs/")) {
        expect(listed.map((o) => o.key)).toEqual(expect.arrayContaining(removedMeanwhile));
        for (const key of removedMeanwhile) await real.delete(key);
      }
      yield* listed;
    };

    const reach = await markReachable(racing, new ManifestStore(racing, new KnownBlobs(racing)), pino({ level: "silent" }));
    // The newest value of "a" and dataset "d"'s remaining version stay live; nothing of the deleted "c".
    expect([...reach.manifests].sort()).toEqual([manifest("a2"), manifest("d2")].sort());
    expect(reach.liveRefs).toBe(2);
    // No ref that is gone is offered for deletion again.
    expect(reach.superseded.map((s) => s.key).filter((k) => removedMeanwhile.includes(k))).toEqual([]);
  });
});
