import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { o3ml, seedHistory, startServe, type History, type Served } from "./cli.test-support.js";

/**
 * `o3://bucket/key` wherever the command takes an object key, read by the
 * Python side's rules (python-plugins/src/o3ml/_o3_url.py): the bucket must
 * be O3ML_BUCKET (default o3ml), anything else is refused before the
 * service is asked; slashes around the key are dropped.
 */
describe("o3:// URLs in the o3ml command", { timeout: 240_000 }, () => {
  let served: Served;
  let seeded: History;
  let dir: string;
  const cli = (...args: string[]) => o3ml(args, served.env());
  const json = async (...args: string[]) => {
    const r = await cli(...args, "--json");
    expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    served = await startServe();
    seeded = await seedHistory(served);
    dir = mkdtempSync(join(tmpdir(), "o3ml-url-"));
    writeFileSync(join(dir, "model.bin"), "weights");
  });
  afterAll(async () => {
    await served?.stop();
  });

  it("names objects for put, get, ls, stat and rm", async () => {
    expect(served.bucket).toBe("o3ml");
    expect(await json("put", join(dir, "model.bin"), "o3://o3ml/models/model.bin")).toMatchObject({ key: "models/model.bin", size: 7 });
    expect((await json("stat", "o3://o3ml//models/model.bin/")).key).toBe("models/model.bin");
    expect((await json("ls", "o3://o3ml/models/")).map((i: { key: string }) => i.key)).toEqual(["models/model.bin"]);
    expect((await json("ls", "o3://o3ml")).map((i: { key: string }) => i.key)).toContain("models/model.bin");
    expect(await json("get", "o3://o3ml/models/model.bin", join(dir, "copy.bin"))).toMatchObject({ key: "models/model.bin" });
    expect(readFileSync(join(dir, "copy.bin"), "utf8")).toBe("weights");
    const streamed = await cli("get", "o3://o3ml/models/model.bin");
    expect(streamed.stdout).toBe("weights");
    expect(await json("rm", "o3://o3ml/models/model.bin")).toEqual({ key: "models/model.bin", deleted: true });
    expect(await json("ls", "models/")).toEqual([]);
  });

  it("names checkpoints for ckpt show, verify, ls --prefix and lineage", async () => {
    const [, second] = seeded.checkpoints as [History["checkpoints"][0], History["checkpoints"][0]];
    const url = `o3://o3ml/${second.key}`;
    expect((await json("ckpt", "show", url)).id).toBe(second.cid);
    expect(await json("ckpt", "verify", url)).toMatchObject({ id: second.cid, verified: true });
    expect((await json("ckpt", "ls", "--prefix", "o3://o3ml/runs/mnist-baseline/")).map((c: { key: string }) => c.key)).toEqual(seeded.checkpoints.map((c) => c.key));
    const lineage = await cli("lineage", url, "--format", "json");
    expect(lineage.code, lineage.stderr).toBe(0);
    expect(JSON.parse(lineage.stdout).focus).toBe(`checkpoint:${second.cid}`);
  });

  it("refuses a bucket other than O3ML_BUCKET, writing nothing, and takes the one O3ML_BUCKET names", async () => {
    for (const args of [["put", join(dir, "model.bin"), "o3://other/models/x.bin"], ["get", "o3://other/models/x.bin"], ["ls", "o3://other/"], ["stat", "o3://other/x"], ["rm", "o3://other/x"], ["ckpt", "show", "o3://other/runs/x.ckpt"]]) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toBe(
        `o3ml: INVALID_ARGUMENT: "${args.find((a) => a.startsWith("o3://"))}" names bucket "other", but the o3ml service at ${served.address} serves bucket "o3ml": ` +
          "write o3://o3ml/<key>, or set O3ML_SERVICE and O3ML_BUCKET to a service of that bucket\n",
      );
    }
    expect(await json("ls", "models/")).toEqual([]);
    // The bucket is the one the user configures for the service, as on the Python side.
    const other = await o3ml(["put", join(dir, "model.bin"), "o3://team/models/team.bin", "--json"], served.env({ O3ML_BUCKET: "team" }));
    expect(other.code, other.stderr).toBe(0);
    expect(JSON.parse(other.stdout).key).toBe("models/team.bin");
  });
});
