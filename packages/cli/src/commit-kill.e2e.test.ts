import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointClient, MetadataClient } from "@o3ml/client";
import { s3ClientFor, startMinio, startO3Profile, type FaultRule, type O3ProfileServer, type S3Server } from "@o3ml/standin";
import { cleanEnv, o3ml, startServe, type CliResult, type Served } from "./cli.test-support.js";

/**
 * A writer killed between any two steps of a commit leaves nothing visible.
 * The service is the writer: every store write of a commit goes through it.
 * The O3-profile layer first counts the writes (PUT, DELETE) of a whole
 * commit; then, for each k, it holds back the k-th write (a latency fault)
 * and the service is SIGKILLed while it is held, so exactly k - 1 writes
 * reached the store (the layer never forwards a held request whose client
 * has gone). A new service on the same O3ML_HOME must show nothing of the
 * commit, before and after an index rebuild, and `gc --grace 0` must remove
 * every blob and manifest it wrote.
 */
const HOLD_MS = 600_000;
// Bookkeeping a killed commit may leave, which names nothing a user sees: the bucket log (an
// event whose ref never landed) and gc's own epoch.
const LOG = "o3ml/v1/log/";
const REFS = "o3ml/v1/refs/";
const BOOKKEEPING = [LOG, "o3ml/v1/gc/"];

interface Kind {
  name: string;
  /** Writes what the commit needs to exist first (a committed object to delete...). */
  prepare?(s: Served, tag: string): Promise<void>;
  commit(s: Served, tag: string): Promise<unknown>;
  /** What a user sees of the commit's subject: must be the same as before the commit started. */
  view(s: Served, tag: string): Promise<unknown>;
}

describe("a writer killed between two steps of a commit", { timeout: 900_000 }, () => {
  let minio: S3Server;
  let layer: O3ProfileServer;
  let s3: S3Client;
  const bucket = `o3ml-kill-${randomBytes(3).toString("hex")}`;
  const work = mkdtempSync(join(tmpdir(), "o3ml-commit-kill-"));
  const homes: string[] = [];
  const newHome = () => {
    const home = mkdtempSync(join(tmpdir(), "o3ml-commit-kill-home-"));
    homes.push(home);
    return home;
  };
  const running: Served[] = [];

  beforeAll(async () => {
    minio = await startMinio();
    layer = await startO3Profile(minio);
    s3 = s3ClientFor(minio);
  }, 240_000);
  afterAll(async () => {
    for (const s of running) await s.crash().catch(() => undefined);
    await layer?.stop();
    await minio?.stop();
    for (const dir of [work, ...homes]) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const env = () => ({
    O3ML_ENDPOINT: layer.endpoint,
    O3ML_REGION: layer.region,
    O3ML_ACCESS_KEY_ID: layer.accessKeyId,
    O3ML_SECRET_ACCESS_KEY: layer.secretAccessKey,
    O3ML_BUCKET: bucket,
  });
  // The service that checked a kill point's outcome goes on running as the next point's writer:
  // only a kill needs a new service, and each start costs as much CPU as the rest of a point.
  const idle = new Map<string, Served>();
  const serve = async (home: string) => {
    const warm = idle.get(home);
    if (warm) {
      idle.delete(home);
      return warm;
    }
    const s = await startServe(["--create-bucket"], env(), home);
    running.push(s);
    return s;
  };
  const stop = async (s: Served) => {
    await s.stop();
    running.splice(running.indexOf(s), 1);
  };
  const stopIdle = async (home: string) => {
    const s = idle.get(home);
    idle.delete(home);
    if (s) await stop(s);
  };
  const cli = (s: Served, ...args: string[]): Promise<CliResult> => o3ml(args, s.env());
  const ok = async (s: Served, ...args: string[]) => {
    const r = await cli(s, ...args);
    expect(r.code, `o3ml ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const keys = async (): Promise<Set<string>> => {
    const out = new Set<string>();
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.add(o.Key!);
      token = page.NextContinuationToken;
    } while (token);
    return out;
  };
  /** Whether `p` settles within `ms` (without waiting longer when it does not). */
  const settles = async (p: Promise<unknown>, ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
    const done = await Promise.race([p.then(() => true, () => true), late]);
    clearTimeout(timer);
    return done;
  };

  const runs = new Map<string, string>();
  const registerRun = async (s: Served, tag: string) => {
    const meta = new MetadataClient(s.address);
    try {
      runs.set(tag, (await meta.registerRun({ name: `killed-${tag}` })).id);
    } finally {
      meta.close();
    }
  };
  const saveCheckpoint = async (s: Served, tag: string, key: string) => {
    const client = new CheckpointClient(s.address);
    try {
      return await client.save({ key, run: runs.get(tag)!, step: 1, epoch: 0, metrics: { loss: 1 } }, [
        { name: "data.pkl", kind: "skeleton", data: randomBytes(300) },
        { name: "0", kind: "storage", dtype: "float32", data: randomBytes(1536 * 1024) },
        { name: "1", kind: "storage", dtype: "float32", data: randomBytes(4096) },
      ]);
    } finally {
      client.close();
    }
  };
  /** Until the service has recorded the checkpoint durable: that write must not fall among the ones counted or held. */
  const untilDurable = async (s: Served, tag: string, key: string) => {
    for (;;) {
      const listed = JSON.parse(await ok(s, "ckpt", "ls", "--run", runs.get(tag)!, "--json")) as { key: string; state: string }[];
      if (listed.find((c) => c.key === key)?.state === "durable") return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const doomedCheckpoint = (tag: string) => `runs/doomed/${tag}.ckpt`;
  const kinds: Kind[] = [
    {
      name: "object",
      commit: (s, tag) => {
        const file = join(work, `${tag}.bin`);
        writeFileSync(file, randomBytes(1536 * 1024)); // two 1 MiB chunks: two blobs
        return cli(s, "put", file, `killed/${tag}`);
      },
      view: async (s, tag) => [(await cli(s, "stat", `killed/${tag}`)).code === 0, await ok(s, "ls", "killed/", "--json")],
    },
    {
      name: "checkpoint",
      prepare: registerRun,
      commit: (s, tag) => saveCheckpoint(s, tag, `runs/killed/${tag}.ckpt`),
      // Only its own key's listing: the bucket is shared by every case, and a rebuild lists what the others left there.
      view: async (s, tag) => [
        (await cli(s, "stat", `runs/killed/${tag}.ckpt`)).code === 0,
        (JSON.parse(await ok(s, "ckpt", "ls", "--json")) as { key: string }[]).filter((c) => c.key === `runs/killed/${tag}.ckpt`),
      ],
    },
    {
      name: "dataset version",
      commit: (s, tag) => {
        // Two splits, three shards: two in train (a kill between two shards of one split), one in val.
        const folder = join(work, tag);
        for (const [split, files] of [["train", 3], ["val", 1]] as const) {
          mkdirSync(join(folder, split), { recursive: true });
          for (let i = 0; i < files; i++) writeFileSync(join(folder, split, `${i}.bin`), randomBytes(48 * 1024));
        }
        return cli(s, "dataset", "push", folder, "--name", `killed-${tag}`, "--shard-size", "128KiB");
      },
      view: async (s) => JSON.parse(await ok(s, "dataset", "ls", "--json")),
    },
    {
      name: "object deletion",
      prepare: async (s, tag) => {
        const file = join(work, `${tag}.doomed`);
        writeFileSync(file, randomBytes(4096));
        await ok(s, "put", file, `doomed/${tag}`);
      },
      commit: (s, tag) => cli(s, "rm", `doomed/${tag}`),
      // Either the whole object still reads or it is gone everywhere: a listing and a read agree.
      view: async (s, tag) => {
        const listed = (JSON.parse(await ok(s, "ls", "doomed/", "--json")) as { key: string }[]).some((o) => o.key === `doomed/${tag}`);
        const reads = (await cli(s, "stat", `doomed/${tag}`)).code === 0;
        expect(listed).toBe(reads);
        return reads;
      },
    },
    // A deletion's commit point is its ref change (commit-order.ts): killed before it, the value
    // is still readable AND listed; after it, neither.
    {
      name: "checkpoint deletion",
      prepare: async (s, tag) => {
        await registerRun(s, tag);
        await saveCheckpoint(s, tag, doomedCheckpoint(tag));
        await untilDurable(s, tag, doomedCheckpoint(tag));
      },
      commit: (s, tag) => cli(s, "rm", doomedCheckpoint(tag)),
      view: async (s, tag) => {
        const listed = (JSON.parse(await ok(s, "ckpt", "ls", "--run", runs.get(tag)!, "--json")) as { key: string }[]).some((c) => c.key === doomedCheckpoint(tag));
        const reads = (await cli(s, "stat", doomedCheckpoint(tag))).code === 0;
        expect(listed, `${tag}: listed by 'o3ml ckpt ls' while ${reads ? "" : "not "}readable at its key`).toBe(reads);
        return reads;
      },
    },
    {
      name: "dataset version deletion",
      prepare: async (s, tag) => {
        const folder = join(work, `${tag}-doomed`);
        mkdirSync(join(folder, "train"), { recursive: true });
        for (let i = 0; i < 3; i++) writeFileSync(join(folder, "train", `${i}.bin`), randomBytes(4096));
        await ok(s, "dataset", "push", folder, "--name", `doomed-${tag}`, "--version", "v1");
      },
      commit: (s, tag) => cli(s, "dataset", "rm", `doomed-${tag}@v1`),
      // Resolvable through its ref (`dataset show`) exactly when the index holds it (`lineage` names it).
      view: async (s, tag) => {
        const resolves = (await cli(s, "dataset", "show", `doomed-${tag}@v1`)).code === 0;
        const indexed = (await cli(s, "lineage", `doomed-${tag}@v1`)).code === 0;
        expect(indexed, `${tag}: in the index while ${resolves ? "" : "not "}resolvable`).toBe(resolves);
        return resolves;
      },
    },
  ];

  /** How many store writes (PUT, DELETE) a whole commit of `kind` makes, counted by the layer. */
  const writesOf = async (kind: Kind, home: string): Promise<number> => {
    const s = await serve(home);
    try {
      // A first commit in a bucket writes more (the layer switches versioning on): count a second one.
      for (const tag of ["first", "counted"]) await kind.prepare?.(s, tag);
      const first = await kind.commit(s, "first");
      if (first && typeof first === "object" && "code" in first) expect((first as CliResult).code, (first as CliResult).stderr).toBe(0);
      layer.setFaults({ rules: [{ kind: "latency", operations: ["PUT", "DELETE"], bucket, ms: 0 }] });
      const r = await kind.commit(s, "counted");
      if (r && typeof r === "object" && "code" in r) expect((r as CliResult).code, (r as CliResult).stderr).toBe(0);
      return layer.stats().rules[0]!.considered;
    } finally {
      layer.setFaults({ rules: [] });
      await stop(s);
    }
  };

  /**
   * Kills the service while the write `hold` picks is held back, then checks what a new service
   * shows; "committed" (and no check) when a new ref had landed: the commit point had passed.
   * `added`: the keys the killed commit had stored.
   */
  const killWhileHeld = async (kind: Kind, home: string, tag: string, hold: FaultRule): Promise<{ outcome: "nothing visible" | "committed"; added: string[] }> => {
    let s = await serve(home);
    await kind.prepare?.(s, tag);
    const before = await kind.view(s, tag);
    const keysBefore = await keys();
    layer.setFaults({ rules: [{ ...hold, kind: "latency", bucket, ms: HOLD_MS }] });
    const commit = kind.commit(s, tag);
    let ended = false;
    while (!ended && (layer.stats().rules[0]?.fired ?? 0) === 0) ended = await settles(commit, 50);
    await s.crash();
    running.splice(running.indexOf(s), 1);
    await commit.catch(() => undefined);
    layer.setFaults({ rules: [] });
    const keysAfter = await keys();
    const added = [...keysAfter].filter((key) => !keysBefore.has(key));
    // A ref written (a commit, a tombstone) or removed (a dataset version's deletion): the commit point passed.
    const committed = added.some((key) => key.startsWith(REFS)) || [...keysBefore].some((key) => key.startsWith(REFS) && !keysAfter.has(key));
    // A write after the commit returned (a checkpoint's durability record, written once the store
    // reports its data on the network) comes after the commit point: the ref must have landed.
    if (ended) expect(committed, `the commit of ${tag} ended before the write it was to be killed at, without a ref`).toBe(true);
    if (committed) return { outcome: "committed", added };

    s = await serve(home);
    expect(await kind.view(s, tag), `${tag}: after the kill`).toEqual(before);
    await ok(s, "index", "rebuild");
    expect(await kind.view(s, tag), `${tag}: after the kill and an index rebuild`).toEqual(before);
    await ok(s, "gc", "--grace", "0");
    const left = [...(await keys())].filter((key) => !keysBefore.has(key) && !BOOKKEEPING.some((p) => key.startsWith(p)));
    expect(left, `${tag}: blobs or manifests left after gc`).toEqual([]);
    idle.set(home, s); // checked, and idle: the next point's writer
    return { outcome: "nothing visible", added };
  };

  it.each(kinds.map((k) => [k.name, k] as const))("%s: nothing visible, nothing listed, and gc reclaims the rest", async (_name, kind) => {
    const home = newHome();
    const writes = await writesOf(kind, home);
    expect(writes).toBeGreaterThan(0); // an object deletion is one write (its tombstone); a checkpoint's or dataset version's two (event, ref change)
    const outcomes: string[] = [];
    for (let k = 1; k <= writes; k++) {
      const { outcome } = await killWhileHeld(kind, home, `${kind.name.replace(/\W/g, "")}-${k}`, { kind: "latency", operations: ["PUT", "DELETE"], at: [k] });
      outcomes.push(outcome);
      if (outcome === "committed") break; // the ref landed before write k: what follows is after the commit point
    }
    // The ref is the last write of a commit; a checkpoint's durability record may follow it.
    const expected = Array<string>(writes).fill("nothing visible");
    if (kind.name === "checkpoint" && outcomes.at(-1) === "committed") {
      expect(outcomes.length, "blobs, manifest and event come before the ref").toBeGreaterThan(3);
      expect(outcomes.slice(0, -1)).toEqual(expected.slice(0, outcomes.length - 1));
    }
    else expect(outcomes).toEqual(expected);
    await stopIdle(home);
  });

  // The kill that matters most for the commit order (commit-order.ts): a checkpoint's event has
  // landed, its ref (the commit point) has not. Neither the service nor a rebuild may list it.
  it("checkpoint: a kill between its event and its ref leaves nothing visible", async () => {
    const kind = kinds.find((k) => k.name === "checkpoint")!;
    const home = newHome();
    await writesOf(kind, home);
    // What a rebuild leaves out, counted before and after: the bucket is shared with the other cases.
    const unlanded = async () => {
      const rebuilt = await o3ml(["index", "rebuild", "--offline", "--json"], cleanEnv(home, env()));
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
      return (JSON.parse(rebuilt.stdout) as { unlanded: number }).unlanded;
    };
    const before = await unlanded();
    const { outcome, added } = await killWhileHeld(kind, home, "checkpoint-event", { kind: "latency", operations: "PUT", keyPrefix: REFS, at: [1] });
    expect(outcome).toBe("nothing visible");
    await stopIdle(home); // the offline rebuild below needs the home to itself
    expect(added.filter((key) => key.startsWith(LOG)), "the checkpoint's event landed before its ref was held").toHaveLength(1);
    // A rebuild says it left that event out, instead of counting it or passing over it in silence.
    expect(await unlanded()).toBe(before + 1);
  });

  // gc removes a deleted checkpoint's refs, its tombstone last (gc/reachability.ts): the deletion
  // must still count in a rebuild (lineage keeps the checkpoint, as deleted), and a deletion
  // stopped before its tombstone must be finished by repeating it.
  it("checkpoint deletion: repeated after a kill it finishes, and after gc a rebuild still has it deleted", async () => {
    const kind = kinds.find((k) => k.name === "checkpoint deletion")!;
    const home = newHome();
    await writesOf(kind, home);
    const tag = "checkpointdeletion-gc";
    const { outcome } = await killWhileHeld(kind, home, tag, { kind: "latency", operations: "PUT", keyPrefix: REFS, at: [1] });
    expect(outcome).toBe("nothing visible");
    await stopIdle(home);
    // The offline rebuild (no service running) follows the same rule as the service's.
    const offline = async () => expect((await o3ml(["index", "rebuild", "--offline"], cleanEnv(home, env()))).code).toBe(0);
    const withService = async (fn: (s: Served, meta: MetadataClient) => Promise<void>) => {
      const s = await serve(home);
      const meta = new MetadataClient(s.address);
      try {
        await fn(s, meta);
      } finally {
        meta.close();
        await stop(s);
      }
    };
    await offline();
    let id = "";
    await withService(async (s, meta) => {
      expect(await kind.view(s, tag), "after the kill and an offline rebuild").toBe(true);
      id = (JSON.parse(await ok(s, "ckpt", "ls", "--run", runs.get(tag)!, "--json")) as { id: string }[])[0]!.id;
      await ok(s, "rm", doomedCheckpoint(tag));
      expect(await kind.view(s, tag)).toBe(false);
      for (let i = 0; i < 2; i++) await ok(s, "gc", "--grace", "0");
      const refsLeft = [...(await keys())].filter((key) => key.startsWith(`${REFS}objects/${doomedCheckpoint(tag)}/@`));
      expect(refsLeft, "gc removed every ref of the deleted key").toEqual([]);
      await ok(s, "index", "rebuild");
      expect(await kind.view(s, tag)).toBe(false);
      expect((await meta.getCheckpoint(id)).state).toBe("deleted");
    });
    await offline();
    await withService(async (s, meta) => {
      expect(await kind.view(s, tag), "after gc and an offline rebuild").toBe(false);
      expect((await meta.getCheckpoint(id)).state).toBe("deleted");
    });
  });
});
