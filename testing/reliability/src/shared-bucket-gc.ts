import { createHash, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isO3mlError } from "@o3ml/errors";
import { freePort, startMinio, startO3Profile, type S3Server } from "@o3ml/standin";
import { createBlobStore } from "@o3ml/o3-client";
import { AdminClient, CheckpointClient, ServiceClient, type EntryToSave } from "@o3ml/client";
import { ROOT } from "@o3ml/repository";
import { PACK_ENTRY_BYTES } from "@o3ml/storage-service";
import { ServiceProcess } from "./cluster.js";

/**
 * Several writers and collectors on ONE bucket of the O3-profile layer
 * (versioning always on, as on O3): two `o3ml serve` processes, each with
 * its own O3ML_HOME (its own index), save checkpoints of their own runs,
 * deleting older ones and, whenever a collection starts its fence, saving
 * again bytes only deleted ones held (so they reuse blobs that collection is
 * about to delete); two more `o3ml serve` processes each run `gc` in a
 * loop with a short grace period, at the same time. At the end (after one
 * more collection) every checkpoint a writer committed and did not delete
 * must load byte for byte and verify. It runs in the full reliability profile (it takes about two
 * minutes), or alone: `npx tsx testing/reliability/src/main.ts --shared-bucket-gc`.
 *
 * The store is MinIO, not moto: moto's ListObjectVersions deep-copies every version of every
 * object in the bucket, bodies included, on each call (moto 5.2, `S3Backend.list_object_versions`),
 * and gc lists the versions of each key it deletes, so a minute of saves made moto grow past
 * 20 GiB and get killed. The versioned-gc end-to-end tests cover moto at a smaller scale.
 */
export interface SharedBucketGcOptions {
  root: string;
  seconds: number;
  graceSeconds: number;
  log?: (line: string) => void;
}

export interface SharedBucketGcReport {
  saves: number;
  /** Saves refused because a collection condemned something they reused (retried). */
  abortedByGc: number;
  /** Saves, right after a collection started its fence, of bytes only deleted checkpoints held. */
  revivals: number;
  deletes: number;
  collections: number;
  /** Summed over the collections' reports: two collectors deleting one key both count it. */
  blobsCollected: number;
  manifestsCollected: number;
  /** Committed, never deleted by the writers. */
  kept: number;
  /** Of `kept`: the ones that did not load whole or verify, with why. */
  lost: string[];
}

// Above the size up to which a checkpoint packs its entries into shared blobs: each tensor is a
// blob of its own, so a pooled or revived tensor reuses the very blob a collection may be
// deleting. Packed, every save made a new pack and no save ever met a condemned blob.
const TENSOR = PACK_ENTRY_BYTES + 4096;
const POOL = 7;

export async function runSharedBucketGc(opts: SharedBucketGcOptions): Promise<SharedBucketGcReport> {
  const log = opts.log ?? (() => {});
  const store = await startMinio();
  let profile: S3Server | undefined;
  const procs: ServiceProcess[] = [];
  const clients: { close(): void }[] = [];
  try {
    profile = await startO3Profile(store);
    const bucket = `o3ml-shared-gc-${Date.now().toString(36)}`;
    const env = (name: string): NodeJS.ProcessEnv => {
      const home = join(opts.root, name);
      mkdirSync(home, { recursive: true });
      const base: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("O3ML_") && !k.startsWith("AWS_")) base[k] = v;
      return {
        ...base,
        O3ML_ENDPOINT: profile!.endpoint,
        O3ML_REGION: profile!.region,
        O3ML_ACCESS_KEY_ID: profile!.accessKeyId,
        O3ML_SECRET_ACCESS_KEY: profile!.secretAccessKey,
        O3ML_BUCKET: bucket,
        O3ML_HOME: home,
        O3ML_LOG_LEVEL: "warn",
      };
    };
    for (const name of ["writer-a", "writer-b", "collector-a", "collector-b"]) {
      const p = new ServiceProcess(await freePort(), env(name), join(opts.root, name));
      await p.start();
      procs.push(p);
    }
    const report: SharedBucketGcReport = { saves: 0, abortedByGc: 0, revivals: 0, deletes: 0, collections: 0, blobsCollected: 0, manifestsCollected: 0, kept: 0, lost: [] };
    const kept = new Map<string, { address: string; key: string; digests: Map<string, string> }>();
    const deadline = Date.now() + opts.seconds * 1000;
    // Watches the gc epoch, which a collection rewrites right before its fence: a save made
    // then, of bytes only deleted checkpoints held, reuses exactly what that collection is about to delete.
    const watcher = createBlobStore(
      { endpoint: profile.endpoint, region: profile.region, accessKeyId: profile.accessKeyId, secretAccessKey: profile.secretAccessKey, bucket, profile: "o3" },
      { probeCacheDir: join(opts.root, "probe-cache") },
    );
    clients.push(watcher);
    let epochs = 0;
    const watching = (async () => {
      let last = "";
      while (Date.now() < deadline) {
        const now = await watcher.get(`${ROOT}gc/epoch`).then((b) => Buffer.from(b).toString("utf8"), () => "");
        if (now !== last) {
          if (last !== "") epochs++;
          last = now;
        }
        await sleep(100);
      }
    })();

    const writer = async (address: string, run: string) => {
      const ckpt = new CheckpointClient(address);
      const objects = new ServiceClient(address);
      clients.push(ckpt, objects);
      const frozen = randomBytes(TENSOR);
      // A pool: a step holds pool[step % POOL], so the bytes of a deleted step come back
      // POOL steps later, often after a collection condemned them as garbage.
      const pool = Array.from({ length: POOL }, () => randomBytes(TENSOR));
      const saved: { step: number; key: string; cid: string; fresh: Buffer }[] = [];
      // The fresh bytes of deleted checkpoints: garbage, until a save holds them again.
      let garbage: Buffer[] = [];
      let epochsSeen = 0;
      for (let step = 0; Date.now() < deadline; step++) {
        const fresh = randomBytes(TENSOR);
        const entries: EntryToSave[] = [
          { name: "skeleton", kind: "skeleton", data: Buffer.from(JSON.stringify({ run, step })) },
          { name: "frozen", kind: "storage", dtype: "float32", data: frozen },
          { name: "pooled", kind: "storage", dtype: "float32", data: pool[step % POOL]! },
          { name: "fresh", kind: "storage", dtype: "float32", data: fresh },
        ];
        let revived = false;
        if (epochs !== epochsSeen && garbage.length > 0) {
          epochsSeen = epochs;
          entries.push(...garbage.map((data, i) => ({ name: `revived-${i}`, kind: "storage" as const, dtype: "float32", data })));
          garbage = [];
          revived = true;
          report.revivals++;
        }
        const key = `${run}/step-${step}.ckpt`;
        let info;
        for (;;) {
          try {
            info = await ckpt.save({ key, run, step }, entries);
            break;
          } catch (err) {
            if (!isO3mlError(err, "ABORTED")) throw err;
            report.abortedByGc++;
            log(`${run}: step ${step} aborted by gc: ${(err as Error).message}`);
            await sleep(1000);
          }
        }
        report.saves++;
        saved.push({ step, key, cid: info.cid, fresh: revived ? Buffer.alloc(0) : fresh });
        kept.set(info.cid, { address, key, digests: new Map(entries.map((e) => [e.name, digest(e.data)])) });
        // Keep every fifth step, the ones that revived garbage and the newest two; delete the rest, which makes their blobs garbage.
        const old = saved.find((s) => s.step === step - 2);
        if (old && old.step % 5 !== 0 && old.fresh.length > 0) {
          await objects.delete(old.key);
          kept.delete(old.cid);
          garbage.push(old.fresh);
          report.deletes++;
        }
      }
    };
    const admins = [new AdminClient(procs[2]!.address), new AdminClient(procs[3]!.address)];
    clients.push(...admins);
    const collect = async (admin: AdminClient) => {
      const r = await admin.collectGarbage({ graceSeconds: opts.graceSeconds });
      report.collections++;
      report.blobsCollected += Number(r.deletedBlobs?.count ?? 0);
      report.manifestsCollected += Number(r.deletedManifests?.count ?? 0);
      log(`gc: ${Number(r.deletedBlobs?.count ?? 0)} blobs, ${Number(r.deletedManifests?.count ?? 0)} manifests deleted, ${Number(r.pendingBlobs?.count ?? 0)} blobs pending`);
    };
    // Two collectors at once, in two processes, half a loop apart.
    const collector = async (admin: AdminClient, delayMs: number) => {
      await sleep(delayMs);
      while (Date.now() < deadline) await collect(admin);
    };
    await Promise.all([writer(procs[0]!.address, "run-a"), writer(procs[1]!.address, "run-b"), collector(admins[0]!, 0), collector(admins[1]!, 5000), watching]);
    // Once more after the writers stopped, past the grace period of everything they left behind.
    await sleep(opts.graceSeconds * 1000 + 1500);
    await collect(admins[0]!);

    report.kept = kept.size;
    for (const [cid, k] of kept) {
      const ckpt = new CheckpointClient(k.address);
      clients.push(ckpt);
      try {
        const back = await ckpt.loadAll(cid);
        for (const e of back.entries) {
          if (digest(e.data) !== k.digests.get(e.name)) report.lost.push(`${k.key} (${cid}): entry ${e.name} differs`);
        }
        if (back.entries.length !== k.digests.size) report.lost.push(`${k.key} (${cid}): ${back.entries.length} of ${k.digests.size} entries`);
        await ckpt.verify(cid);
      } catch (err) {
        report.lost.push(`${k.key} (${cid}): ${(err as Error).message}`);
      }
    }
    return report;
  } finally {
    for (const c of clients) c.close();
    for (const p of procs) await p.stop();
    await profile?.stop();
    await store.stop();
  }
}

function digest(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}
