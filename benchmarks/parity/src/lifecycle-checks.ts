/**
 * Dataset and checkpoint lifecycle workflows on one target: dataset
 * push/show/verify/pull before the Python harness streams the dataset and
 * saves checkpoints, and checkpoint ls/verify, gc and the metadata index
 * rebuild after it. Push, verify and pull run the real `o3ml` command (their
 * logic lives in the CLI); the others call the same service RPCs the CLI
 * calls, through the service's TypeScript clients, to spare a Node start
 * per row.
 */
import { readdirSync } from "node:fs";
import { AdminClient, CheckpointClient, DatasetClient, MetadataClient } from "@o3ml/client";
import { runCli, summary } from "./cli-runner.js";
import type { DatasetFixture } from "./dataset-fixture.js";
import { expect, type WorkflowCheck } from "./parity-matrix.js";
import type { TargetSession } from "./target-session.js";

export const datasetName = (s: TargetSession) => `${s.prefix}/ds`;

/**
 * `pullInto`: where `dataset pull` writes the version's tar shards; they stay
 * there for the peers' dataset epoch (the very shards o3ml reads), and the
 * caller removes them.
 */
export function datasetChecks(s: TargetSession, data: DatasetFixture, shardSize: string, pullInto: string): WorkflowCheck[] {
  const name = datasetName(s);
  return [
    {
      workflow: "dataset push",
      layer: "o3ml",
      about: `o3ml dataset push of ${data.samples} samples into ${shardSize} shards`,
      run: async () => {
        const out = await runCli(s, ["dataset", "push", data.dir, "--name", name, "--shard-size", shardSize]);
        return summary(out, ["shards", "samples", "bytesUploaded", "seconds"]);
      },
    },
    {
      workflow: "dataset show",
      layer: "o3ml",
      about: "resolve name@latest to its manifest",
      run: () =>
        withClient(new DatasetClient(s.service), async (c) => {
          const { manifest } = await c.resolve(name);
          expect(manifest.shards.length > 0, "the manifest names no shards");
          return `${manifest.shards.length} shards`;
        }),
    },
    {
      workflow: "dataset verify",
      layer: "o3ml",
      about: "every shard re-read from the bucket and re-hashed",
      run: async () => summary(await runCli(s, ["dataset", "verify", name]), ["ok", "shards", "bytes", "bytesChecked", "seconds"]),
    },
    {
      workflow: "dataset pull",
      layer: "o3ml",
      about: "shards (tar) and manifest.json written to a new folder, each verified",
      run: async () => {
        const out = await runCli(s, ["dataset", "pull", name, pullInto]);
        const files = readdirSync(pullInto, { recursive: true }).length;
        expect(files > 1, `pull wrote ${files} files`);
        return `${files} files; ${summary(out, ["shards", "bytes"])}`;
      },
    },
  ];
}

async function withClient<C extends { close(): void }, T>(client: C, use: (c: C) => Promise<T>): Promise<T> {
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

/** Runs after the Python harness saved `<prefix>/ckpt/last.ckpt` twice (the first save superseded). */
export function afterTrainingChecks(s: TargetSession): WorkflowCheck[] {
  const key = `${s.prefix}/ckpt/last.ckpt`;
  return [
    {
      workflow: "checkpoint ls",
      layer: "o3ml",
      about: "checkpoints under the run's prefix (CheckpointService.List, as o3ml ckpt ls)",
      run: () =>
        withClient(new CheckpointClient(s.service), async (c) => {
          const listed = await c.list("", `${s.prefix}/`);
          expect(listed.length > 0, "no checkpoint listed");
          return `${listed.length} listed`;
        }),
    },
    {
      workflow: "checkpoint verify",
      layer: "o3ml",
      about: "every blob re-read and re-hashed (as o3ml ckpt verify)",
      run: () =>
        withClient(new CheckpointClient(s.service), async (c) => {
          const r = await c.verify(key);
          return `${r.blobsChecked} blobs, ${r.bytesChecked} bytes re-hashed`;
        }),
    },
    {
      workflow: "gc",
      layer: "o3ml",
      about: "o3ml gc after a checkpoint was overwritten; the newest one must still verify",
      run: async () => {
        // Grace 0 is only safe while nothing else writes to the bucket: true for a bucket made for this run.
        const dryRun = !s.target.local;
        // moto (an endpoint --config may name; it was the local o3 target's store before MinIO)
        // can answer a version listing with an HTML 500 page while the same sweep deletes other
        // versions (its key store races them). Only that failure is retried; a later pass has
        // less left to sweep. The cell says so.
        const gc = () => withClient(new AdminClient(s.service), (c) => c.collectGarbage({ dryRun, graceSeconds: 0 }));
        let r: Awaited<ReturnType<typeof gc>> | undefined;
        let raced = "";
        for (let pass = 1; !r; pass++) {
          try {
            r = await gc();
          } catch (err) {
            const why = (err as Error).message;
            if (pass >= 3 || !s.target.local || !/XML parse error|<html>/i.test(why)) throw err;
            raced = `pass ${pass} failed mid-sweep on the store's HTML 500 page (moto's race), a later pass completed; `;
          }
        }
        await withClient(new CheckpointClient(s.service), (c) => c.verify(key));
        const n = (v: unknown) => Number(v ?? 0);
        const refs = n(r.deletedRefs);
        const manifests = n(r.deletedManifests?.count);
        const blobs = n(r.deletedBlobs?.count);
        expect(raced !== "" || refs + manifests + blobs > 0, "gc collected nothing although a checkpoint was superseded");
        return `${raced}${dryRun ? "dry run (shared bucket): " : ""}${refs} refs, ${manifests} manifests, ${blobs} blobs deleted; newest still verifies`;
      },
    },
    {
      workflow: "metadata index rebuild",
      layer: "o3ml",
      about: "the index recreated from the bucket's event log (as o3ml index rebuild)",
      run: async () => {
        const r = await withClient(new MetadataClient(s.service), (c) => c.rebuildIndex());
        expect(Number(r.applied ?? 0) > 0, "no event applied");
        return `${Number(r.objects ?? 0)} log objects, ${Number(r.applied)} events applied, ${Number(r.skipped ?? 0)} skipped`;
      },
    },
  ];
}
